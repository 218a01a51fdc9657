// Client address resolution (net/edge_address.h): X-Forwarded-For is read only from trusted
// proxies, and then only as far as the first hop nobody trusted vouched for.
#include "net/edge_address.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pc::net {
namespace {

TEST(EdgeAddress, ParsesLiteralsWithAndWithoutPorts) {
  EXPECT_EQ(parse_ip("10.1.2.3")->to_string(), "10.1.2.3");
  EXPECT_EQ(parse_ip(" 10.1.2.3:8443 ")->to_string(), "10.1.2.3");
  EXPECT_EQ(parse_ip("2001:db8::1")->to_string(), "2001:db8::1");
  EXPECT_EQ(parse_ip("[2001:db8::1]:443")->to_string(), "2001:db8::1");
  EXPECT_EQ(parse_ip("[2001:db8::1]")->to_string(), "2001:db8::1");
  EXPECT_TRUE(parse_ip("::ffff:10.1.2.3")->v4);
  EXPECT_EQ(parse_ip("::ffff:10.1.2.3")->to_string(), "10.1.2.3");
  for (auto bad : {"", "unknown", "example.com", "10.1.2", "10.1.2.3:x", "[::1", "[::1]x", "1.2.3.4.5", "::g"})
    EXPECT_FALSE(parse_ip(bad)) << bad;
}

TEST(EdgeAddress, TrustedProxiesMatchCidrsOfBothFamilies) {
  TrustedProxies t({"10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"});
  EXPECT_TRUE(t.contains("10.255.0.1"));
  EXPECT_TRUE(t.contains("192.168.1.7"));
  EXPECT_FALSE(t.contains("192.168.1.8"));
  EXPECT_FALSE(t.contains("11.0.0.1"));
  EXPECT_TRUE(t.contains("fd12:3456::1"));
  EXPECT_FALSE(t.contains("fe80::1"));
  EXPECT_TRUE(t.contains("::1"));
  EXPECT_TRUE(t.contains("::ffff:10.0.0.9"));  // a mapped address is its IPv4 address
  EXPECT_FALSE(t.contains("junk"));
  EXPECT_THROW(TrustedProxies({"10.0.0.0/33"}), std::invalid_argument);
  EXPECT_THROW(TrustedProxies({"proxy.local"}), std::invalid_argument);
  TrustedProxies mapped({"::ffff:10.0.0.0/104"});  // IPv6 text: the prefix counts 128 bits
  EXPECT_TRUE(mapped.contains("10.1.2.3"));
  EXPECT_FALSE(mapped.contains("11.1.2.3"));
  TrustedProxies odd({"172.16.0.0/12"});
  EXPECT_TRUE(odd.contains("172.31.255.255"));
  EXPECT_FALSE(odd.contains("172.32.0.0"));
}

TEST(EdgeAddress, UntrustedPeerIsTheClientWhateverItClaims) {
  TrustedProxies t({"10.0.0.0/8"});
  EXPECT_EQ(client_address("203.0.113.9", {"1.2.3.4"}, t), "203.0.113.9");
  EXPECT_EQ(client_address("203.0.113.9", {"1.2.3.4"}, TrustedProxies()), "203.0.113.9");
}

TEST(EdgeAddress, TrustedPeerRightMostUntrustedHopWins) {
  TrustedProxies t({"10.0.0.0/8"});
  // The client forged "6.6.6.6"; the trusted proxy appended what it saw.
  EXPECT_EQ(client_address("10.0.0.1", {"6.6.6.6, 198.51.100.7"}, t), "198.51.100.7");
  // Two trusted proxies in a row; the second field line is the later one.
  EXPECT_EQ(client_address("10.0.0.1", {"6.6.6.6, 198.51.100.7", "10.2.3.4"}, t), "198.51.100.7");
  // Every hop trusted: the left-most.
  EXPECT_EQ(client_address("10.0.0.1", {"10.9.9.9, 10.8.8.8"}, t), "10.9.9.9");
  // No header: the proxy itself.
  EXPECT_EQ(client_address("10.0.0.1", {}, t), "10.0.0.1");
  // Junk left of a trusted hop: the last vouched-for hop.
  EXPECT_EQ(client_address("10.0.0.1", {"garbage, 10.7.7.7"}, t), "10.7.7.7");
  EXPECT_EQ(client_address("10.0.0.1", {"garbage"}, t), "10.0.0.1");
  // Ports and empty elements.
  EXPECT_EQ(client_address("10.0.0.1", {"198.51.100.7:5555, , "}, t), "198.51.100.7");
  EXPECT_EQ(client_address("10.0.0.1", {"[2001:db8::5]:80"}, t), "2001:db8::5");
}

// RFC 7239 Forwarded.
TEST(EdgeAddress, ForwardedForValues) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(forwarded_for_values({"for=192.0.2.60;proto=http;by=203.0.113.43"}), V{"192.0.2.60"});
  EXPECT_EQ(forwarded_for_values({"For=\"[2001:db8:cafe::17]:4711\""}), V{"[2001:db8:cafe::17]:4711"});
  EXPECT_EQ(forwarded_for_values({"for=192.0.2.43, for=198.51.100.17", "proto=https;for=10.1.2.3"}),
            (V{"192.0.2.43", "198.51.100.17", "10.1.2.3"}));
  EXPECT_EQ(forwarded_for_values({"proto=https;by=10.0.0.1"}), V{}) << "an element without for= says nothing";
  EXPECT_EQ(forwarded_for_values({"for=_hidden, for=unknown"}), (V{"_hidden", "unknown"}));
  EXPECT_EQ(forwarded_for_values({"for=\"1.2.3.4,5.6.7.8\""}), V{"unknown"}) << "a comma inside quotes";
  EXPECT_EQ(forwarded_for_values({"for=\"1.2.\\3.4\""}), V{"unknown"}) << "escapes";
  EXPECT_EQ(forwarded_for_values({"for=\"1.2.3.4"}), V{"unknown"}) << "unterminated";
  EXPECT_EQ(forwarded_for_values({"for"}), V{"unknown"});
  EXPECT_EQ(forwarded_for_values({"for=\"1.2.3.4\"x;proto=http"}), V{"unknown"}) << "junk after the quote";
}

TEST(EdgeAddress, ForwardedWalkStopsAtObfuscatedOrUnknown) {
  TrustedProxies t({"10.0.0.0/8"});
  auto client = [&](std::vector<std::string_view> fields) {
    auto v = forwarded_for_values(fields);
    return client_address("10.0.0.1", v, t);
  };
  EXPECT_EQ(client({"for=6.6.6.6, for=198.51.100.7"}), "198.51.100.7") << "the client forged the left one";
  EXPECT_EQ(client({"for=\"[2001:db8::5]:80\", for=10.2.3.4"}), "2001:db8::5");
  // An obfuscated client behind a trusted proxy: the walk stops; the proxy that wrote it is the client.
  EXPECT_EQ(client({"for=6.6.6.6, for=_hidden, for=10.2.3.4"}), "10.2.3.4");
  EXPECT_EQ(client({"for=unknown"}), "10.0.0.1");
  EXPECT_EQ(client({}), "10.0.0.1");
  // From an untrusted peer the field is never read.
  EXPECT_EQ(client_address("192.0.2.1", forwarded_for_values({"for=203.0.113.1"}), t), "192.0.2.1");
}

TEST(EdgeAddress, KeysAreAddressesOrIpv6Slash64) {
  EXPECT_EQ(ip_key("198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(ip_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(ip_key("2001:db8:1:2::ffff"), ip_key("2001:db8:1:2:1::"));
  EXPECT_NE(ip_key("2001:db8:1:2::1"), ip_key("2001:db8:1:3::1"));
  EXPECT_EQ(ip_key("::ffff:1.2.3.4"), "1.2.3.4");
}

}  // namespace
}  // namespace pc::net
