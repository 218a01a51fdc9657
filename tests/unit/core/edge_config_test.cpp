// server.trusted_proxies and server.edge (issue 12, area "edge"): defaults keep every per-address
// cap off except the token endpoint's generous one, values are read, and bad ones are errors
// naming their key.
#include <gtest/gtest.h>

#include "core/config.h"
#include "support/config_errors.h"

namespace pc::core {
namespace {

using pc::testing::errors_of;

TEST(EdgeConfig, DefaultsCapNothingButTheTokenEndpoint) {
  ConfigResult r = parse_config("server: { listen: \"127.0.0.1:0\" }\n");
  ASSERT_TRUE(r.config) << errors_of(r);
  const auto& e = r.config->server.edge;
  EXPECT_EQ(e.max_connections_per_ip, 0u);
  EXPECT_EQ(e.requests_per_ip.rps, 0);
  EXPECT_EQ(e.admin_api.rps, 0);
  EXPECT_EQ(e.token_endpoint.rps, 100);
  EXPECT_EQ(e.token_endpoint.burst, 1000u);
  EXPECT_TRUE(e.waf.empty());
  EXPECT_TRUE(r.config->server.trusted_proxies.empty());
}

TEST(EdgeConfig, ReadsEveryKey) {
  ConfigResult r = parse_config(R"(
server:
  trusted_proxies: ["10.0.0.0/8", "::1", "fd00::/8"]
  edge:
    max_connections_per_ip: 50
    requests_per_ip: { rps: 20.5, burst: 40 }
    token_endpoint: { rps: 1, burst: 5 }
    admin_api: { rps: 0 }
    max_tracked_ips: 4096
    waf:
      - name: dotdot
        path: '\.\./'
      - name: ua
        action: log
        methods: [GET, POST]
        header: { name: User-Agent, pattern: sqlmap }
        body: x
        query: y
        caseless: true
)");
  ASSERT_TRUE(r.config) << errors_of(r);
  const auto& s = r.config->server;
  EXPECT_EQ(s.trusted_proxies.size(), 3u);
  EXPECT_EQ(s.edge.max_connections_per_ip, 50u);
  EXPECT_DOUBLE_EQ(s.edge.requests_per_ip.rps, 20.5);
  EXPECT_EQ(s.edge.requests_per_ip.burst, 40u);
  EXPECT_EQ(s.edge.token_endpoint.burst, 5u);
  EXPECT_EQ(s.edge.admin_api.rps, 0);
  EXPECT_EQ(s.edge.max_tracked_ips, 4096u);
  ASSERT_EQ(s.edge.waf.size(), 2u);
  EXPECT_EQ(s.edge.waf[0].action, "block");
  EXPECT_EQ(s.edge.waf[0].path, "\\.\\./");
  EXPECT_EQ(s.edge.waf[1].header_name, "User-Agent");
  EXPECT_EQ(s.edge.waf[1].methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_TRUE(s.edge.waf[1].caseless);
}

TEST(EdgeConfig, BadValuesNameTheirKey) {
  ConfigResult r = parse_config(R"(
server:
  trusted_proxies: ["10.0.0.1/8", "proxy.local", "10.0.0.0/40"]
  edge:
    requests_per_ip: { rps: -1 }
    max_tracked_ips: 1
    waf:
      - name: empty
      - name: dup
        path: a
      - name: dup
        action: drop
        path: b
      - path: c
)");
  ASSERT_FALSE(r.config);
  const std::string e = errors_of(r);
  EXPECT_NE(e.find("server.trusted_proxies[0]: has host bits set"), std::string::npos) << e;
  EXPECT_NE(e.find("server.trusted_proxies[1]: must be an IP address or CIDR"), std::string::npos) << e;
  EXPECT_NE(e.find("server.trusted_proxies[2]"), std::string::npos) << e;
  EXPECT_NE(e.find("server.edge.requests_per_ip.rps"), std::string::npos) << e;
  EXPECT_NE(e.find("server.edge.max_tracked_ips"), std::string::npos) << e;
  EXPECT_NE(e.find("server.edge.waf[2].action"), std::string::npos) << e;
  EXPECT_NE(e.find("server.edge.waf[3].name"), std::string::npos) << e;
}

TEST(EdgeConfig, RuleWithoutAnythingToMatchAndDuplicateNames) {
  ConfigResult r = parse_config(R"(
server:
  edge:
    waf:
      - name: empty
      - name: dup
        path: a
      - name: dup
        path: b
)");
  ASSERT_FALSE(r.config);
  const std::string e = errors_of(r);
  EXPECT_NE(e.find("server.edge.waf[0]: names none of"), std::string::npos) << e;
  EXPECT_NE(e.find("server.edge.waf[2].name: duplicate rule name dup"), std::string::npos) << e;
}

}  // namespace
}  // namespace pc::core
