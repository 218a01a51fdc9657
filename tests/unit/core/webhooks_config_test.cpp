// server.webhooks (issue 9): defaults are the safe ones (https only, no private targets), values
// are read, and out-of-range or mistyped ones are errors naming their key.
#include <gtest/gtest.h>

#include "core/config.h"
#include "support/config_errors.h"

namespace pc::core {
namespace {

using pc::testing::errors_of;

TEST(WebhooksConfig, DefaultsRefusePrivateTargetsAndPlainHttp) {
  WebhooksConfig c;
  EXPECT_FALSE(c.allow_private_targets);
  EXPECT_FALSE(c.allow_http);
  EXPECT_EQ(c.max_attempts, 8u);
  ConfigResult r = parse_config("server: { listen: \"127.0.0.1:0\" }\n");
  ASSERT_TRUE(r.config) << errors_of(r);
  EXPECT_EQ(r.config->server.webhooks, WebhooksConfig{});
}

TEST(WebhooksConfig, ReadsEveryKey) {
  ConfigResult r = parse_config(R"(
server:
  webhooks:
    allow_private_targets: true
    allow_http: true
    max_attempts: 3
    backoff_initial_ms: 50
    backoff_max_ms: 200
    timeout_ms: 2000
    workers: 4
    poll_interval_ms: 100
    delivered_retention_hours: 0
)");
  ASSERT_TRUE(r.config) << errors_of(r);
  const WebhooksConfig& c = r.config->server.webhooks;
  EXPECT_TRUE(c.allow_private_targets);
  EXPECT_TRUE(c.allow_http);
  EXPECT_EQ(c.max_attempts, 3u);
  EXPECT_EQ(c.backoff_initial_ms, 50u);
  EXPECT_EQ(c.backoff_max_ms, 200u);
  EXPECT_EQ(c.timeout_ms, 2000u);
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.poll_interval_ms, 100u);
  EXPECT_EQ(c.delivered_retention_hours, 0u);
}

TEST(WebhooksConfig, BadValuesNameTheirKey) {
  ConfigResult r = parse_config(R"(
server:
  webhooks: { max_attempts: 0, workers: 65, timeout_ms: 5, allow_http: maybe, allow_privat_targets: true }
)");
  EXPECT_FALSE(r.config);
  const std::string e = errors_of(r);
  EXPECT_NE(e.find("server.webhooks.max_attempts"), std::string::npos) << e;
  EXPECT_NE(e.find("server.webhooks.workers"), std::string::npos) << e;
  EXPECT_NE(e.find("server.webhooks.timeout_ms"), std::string::npos) << e;
  EXPECT_NE(e.find("server.webhooks.allow_http: must be true or false"), std::string::npos) << e;
  EXPECT_NE(e.find("server.webhooks.allow_privat_targets: unknown key (did you mean 'allow_private_targets'?)"),
            std::string::npos)
      << e;
}

}  // namespace
}  // namespace pc::core
