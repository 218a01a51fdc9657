#include "cluster/redis_url.h"

#include <gtest/gtest.h>

namespace pc::cluster {
namespace {

RedisUrl ok(const std::string& text) {
  std::string error;
  auto u = parse_redis_url(text, error);
  EXPECT_TRUE(u) << text << ": " << error;
  return u.value_or(RedisUrl{});
}

std::string bad(const std::string& text) {
  std::string error;
  EXPECT_FALSE(parse_redis_url(text, error)) << text;
  return error;
}

TEST(RedisUrl, PlainDefaults) {
  auto u = ok("redis://cache");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "cache");
  EXPECT_FALSE(u.host_is_literal);
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.db, 0);
  EXPECT_TRUE(u.password.empty());
  EXPECT_TRUE(u.user.empty());
}

TEST(RedisUrl, TlsPasswordPortDb) {
  auto u = ok("rediss://:s%40cret@127.0.0.1:6380/3");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_TRUE(u.host_is_literal);
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.db, 3);
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.password, "s@cret");  // percent-decoded
  // The description never carries the password.
  EXPECT_EQ(u.describe(), "rediss://127.0.0.1:6380/3");
}

TEST(RedisUrl, UserAndPassword) {
  auto u = ok("redis://app:pw@cache:7000");
  EXPECT_EQ(u.user, "app");
  EXPECT_EQ(u.password, "pw");
}

TEST(RedisUrl, PasswordWithoutColonIsThePassword) {
  auto u = ok("redis://onlysecret@cache");
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.password, "onlysecret");
}

TEST(RedisUrl, Ipv6Literal) {
  auto u = ok("redis://[::1]:6379");
  EXPECT_EQ(u.host, "::1");
  EXPECT_TRUE(u.host_is_literal);
  EXPECT_EQ(u.describe(), "redis://[::1]:6379/0");
}

TEST(RedisUrl, Refusals) {
  EXPECT_EQ(bad("http://cache:6379"), "the scheme must be redis or rediss");
  EXPECT_EQ(bad("redis://cache:0"), "the port must be 1-65535");
  EXPECT_EQ(bad("redis://cache:70000"), "the port must be 1-65535");
  EXPECT_EQ(bad("redis://cache/abc"), "the path must be a database number (/0)");
  EXPECT_EQ(bad("redis://"), "no host");
  EXPECT_EQ(bad("not a url"), "not a URL");
}

}  // namespace
}  // namespace pc::cluster
