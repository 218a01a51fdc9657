#include "auth/jwks_origin.h"

#include <gtest/gtest.h>

namespace pc::auth {
namespace {

TEST(JwksOrigin, TheIssuersOwnOriginIsAllowed) {
  EXPECT_TRUE(jwks_uri_allowed("https://idp.example", "https://idp.example/.well-known/jwks.json"));
  EXPECT_TRUE(jwks_uri_allowed("https://idp.example/tenant-1", "https://IDP.example:443/keys"));
  EXPECT_TRUE(jwks_uri_allowed("http://127.0.0.1:8080", "http://127.0.0.1:8080/keys"));
  EXPECT_TRUE(jwks_uri_allowed("http://idp.example", "http://idp.example:80/keys"));
}

TEST(JwksOrigin, HttpsOnTheIssuersHostIsAllowedOnAnyPort) {
  EXPECT_TRUE(jwks_uri_allowed("https://idp.example", "https://idp.example:8443/keys"));
  EXPECT_TRUE(jwks_uri_allowed("http://idp.example:8080", "https://idp.example/keys"));
}

// Issue 8 item 19: a discovery document pointing the gateway elsewhere for keys is refused.
TEST(JwksOrigin, AnythingElseIsRefused) {
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", "https://evil.example/keys"));
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", "https://idp.example.evil.example/keys"));
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", "https://evil.example/idp.example/keys"));
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", "http://idp.example/keys")) << "no downgrade to http";
  EXPECT_FALSE(jwks_uri_allowed("http://127.0.0.1:8080", "http://127.0.0.1:9090/keys")) << "http on another port";
  EXPECT_FALSE(jwks_uri_allowed("http://127.0.0.1:8080", "http://169.254.169.254/latest/meta-data"));
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", "https://user:pw@idp.example/keys"));
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", "file:///etc/passwd"));
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", "/keys")) << "relative";
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", ""));
  EXPECT_FALSE(jwks_uri_allowed("https://idp.example", "https://idp.example:0/keys"));
  EXPECT_FALSE(jwks_uri_allowed("not a url", "https://idp.example/keys"));
}

}  // namespace
}  // namespace pc::auth
