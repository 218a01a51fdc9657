// The pure parts of `portcullis ops`'s API client (app/ops_client.h): where credentials come
// from, the token request's Basic header, URL building and error lines. The calls themselves
// are covered end to end by tests/integration/ops.test.mjs.
#include "app/ops_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "support/temp_dir.h"

namespace pc::app::ops {
namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

template <class F>
int exit_code_of(F&& f) {
  try {
    f();
  } catch (const Failure& e) {
    return e.exit_code();
  }
  return 0;
}

TEST(OpsClient, BasicAuthorizationFormEncodesIdAndSecretFirst) {
  // RFC 6749 §2.3.1: each of id and secret is form-urlencoded before "id:secret" is base64ed;
  // a ':' in the secret must not split it. base64("a+b:p%3Aw%25%2B").
  EXPECT_EQ(basic_authorization("a b", "p:w%+"), "Basic YStiOnAlM0F3JTI1JTJC");
  // Padding is kept (standard base64, not base64url): base64("id:s") = "aWQ6cw==".
  EXPECT_EQ(basic_authorization("id", "s"), "Basic aWQ6cw==");
}

TEST(OpsClient, PercentEncoding) {
  EXPECT_EQ(form_urlencode("a b/c~"), "a+b%2Fc~");
  // A '/' in a tenant or agent name must stay inside its path segment.
  EXPECT_EQ(path_segment("a/b c"), "a%2Fb%20c");
  EXPECT_EQ(path_segment("..%"), "..%25");
  EXPECT_EQ(query_string({}), "");
  EXPECT_EQ(query_string({{"tenant", ""}, {"agent", ""}}), "");
  // Empty values are left out; '+' and ':' are escaped so the route's form decoding keeps them.
  EXPECT_EQ(query_string({{"tenant", "acme"}, {"agent", ""}, {"since", "2026-01-01T00:00:00+01:00"}}),
            "?tenant=acme&since=2026-01-01T00%3A00%3A00%2B01%3A00");
}

TEST(OpsClient, UrlOrigin) {
  EXPECT_EQ(url_origin("http://127.0.0.1:8080/oauth2/token").value_or(""), "http://127.0.0.1:8080");
  EXPECT_EQ(url_origin("https://gw.example").value_or(""), "https://gw.example");
  EXPECT_EQ(url_origin("https://gw.example?x#y").value_or(""), "https://gw.example");
  EXPECT_FALSE(url_origin("/oauth2/token"));
  EXPECT_FALSE(url_origin("http://"));
  EXPECT_FALSE(url_origin("://x"));
}

TEST(OpsClient, ApiErrorLineUsesTheSpecBody) {
  const std::string body = R"({"error":{"code":"not_found","message":"no tenant 'x'","requestId":"r-1","details":[]}})";
  EXPECT_EQ(format_api_error(404, body, "hdr", "GET /v1/tenants/x"), "no tenant 'x' (not_found, request r-1)");
  // The body's requestId missing: the X-Request-Id header fills in.
  EXPECT_EQ(format_api_error(403, R"({"error":{"code":"forbidden","message":"no"}})", "hdr-2", "GET /"),
            "no (forbidden, request hdr-2)");
  // Not the SPEC shape (a proxy in front, an HTML page): status and call, never the body.
  EXPECT_EQ(format_api_error(502, "<html>bad gateway</html>", "", "GET /v1/tenants"), "HTTP 502 from GET /v1/tenants");
  EXPECT_EQ(format_api_error(500, "", "r-3", "POST /x"), "HTTP 500 from POST /x (request r-3)");
  ASSERT_TRUE(parse_api_error(body));
  EXPECT_EQ(parse_api_error(body)->code, "not_found");
  EXPECT_FALSE(parse_api_error(R"({"error":"invalid_client"})"));
}

TEST(OpsClient, ResolveTimeAcceptsRfc3339AndDurationsAgo) {
  using namespace std::chrono;
  const sys_seconds now{seconds{1767225600}};  // 2026-01-01T00:00:00Z
  EXPECT_EQ(resolve_time("2025-12-31T10:00:00Z", now), "2025-12-31T10:00:00Z");
  EXPECT_EQ(resolve_time("2025-12-31T10:00:00.5+02:00", now), "2025-12-31T10:00:00.5+02:00");
  EXPECT_EQ(resolve_time("24h", now), "2025-12-31T00:00:00.000Z");
  EXPECT_EQ(resolve_time("30m", now), "2025-12-31T23:30:00.000Z");
  EXPECT_EQ(resolve_time("7d", now), "2025-12-25T00:00:00.000Z");
  for (const char* bad : {"", "yesterday", "5", "5s", "-1h", "0h", "2025-12-31", "2025-12-31 10:00:00Z"})
    EXPECT_EQ(exit_code_of([&] { resolve_time(bad, now); }), 2) << bad;
}

TEST(OpsClient, CredentialsFileNeedsIdAndSecret) {
  const auto c = parse_credentials_file(
      R"({"client_id":"pc-admin-1","client_secret":"s3cret","token_url":"http://127.0.0.1:1/oauth2/token"})", "f");
  EXPECT_EQ(c.client_id, "pc-admin-1");
  EXPECT_EQ(c.client_secret, "s3cret");
  EXPECT_EQ(c.token_url, "http://127.0.0.1:1/oauth2/token");
  EXPECT_EQ(exit_code_of([] { parse_credentials_file(R"({"client_id":"x"})", "f"); }), 2);
  EXPECT_EQ(exit_code_of([] { parse_credentials_file("not json", "f"); }), 2);
}

class ResolveCredentials : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv("PORTCULLIS_CLIENT_SECRET"); }
  void TearDown() override { ::unsetenv("PORTCULLIS_CLIENT_SECRET"); }
  pc::testing::TempDir dir{"ops-creds"};
};

TEST_F(ResolveCredentials, DefaultIsBootstrapFileUnderTheConfiguredDataDirAndTheGatewayIsItsOrigin) {
  write(dir.file("bootstrap-admin.json"),
        R"({"client_id":"id1","client_secret":"sec1","token_url":"https://gw.example:8443/oauth2/token"})");
  write(dir.file("config.yaml"), "data_dir: " + dir.path().string() + "\n");
  CredentialSource src;
  src.config_path = dir.file("config.yaml");
  auto [c, base] = resolve_credentials(src);
  EXPECT_EQ(c.client_id, "id1");
  EXPECT_EQ(c.token_url, "https://gw.example:8443/oauth2/token");
  EXPECT_EQ(base, "https://gw.example:8443");
  // --url wins over the origin (a gateway behind a path prefix), trailing slash dropped.
  src.url = "https://lb.example/gw/";
  EXPECT_EQ(resolve_credentials(src).second, "https://lb.example/gw");
}

TEST_F(ResolveCredentials, MissingFileOrBadConfigIsAUsageError) {
  CredentialSource src;
  src.credentials_file = dir.file("absent.json");
  EXPECT_EQ(exit_code_of([&] { resolve_credentials(src); }), 2);
  CredentialSource bad;
  write(dir.file("bad.yaml"), "server: {listen: 12}\nnot_a_key: 1\n");
  bad.config_path = dir.file("bad.yaml");
  EXPECT_EQ(exit_code_of([&] { resolve_credentials(bad); }), 2);
}

TEST_F(ResolveCredentials, ExplicitClientNeedsASecretAndATokenUrl) {
  CredentialSource src;
  src.client_id = "c";
  EXPECT_EQ(exit_code_of([&] { resolve_credentials(src); }), 2) << "no secret";
  src.client_secret = "s";
  EXPECT_EQ(exit_code_of([&] { resolve_credentials(src); }), 2) << "no --url or --token-url";
  src.url = "http://127.0.0.1:9/";
  auto [c, base] = resolve_credentials(src);
  EXPECT_EQ(c.token_url, "http://127.0.0.1:9/oauth2/token");
  EXPECT_EQ(base, "http://127.0.0.1:9");
  CredentialSource secret_only;
  secret_only.client_secret = "s";
  EXPECT_EQ(exit_code_of([&] { resolve_credentials(secret_only); }), 2);
}

TEST_F(ResolveCredentials, SecretFromTheEnvironmentKeepsItOutOfShellHistory) {
  ::setenv("PORTCULLIS_CLIENT_SECRET", "from-env", 1);
  CredentialSource src;
  src.client_id = "c";
  src.token_url = "http://127.0.0.1:9/oauth2/token";
  auto [c, base] = resolve_credentials(src);
  EXPECT_EQ(c.client_secret, "from-env");
  EXPECT_EQ(base, "http://127.0.0.1:9");
}

}  // namespace
}  // namespace pc::app::ops
