// Who the client is (issue 12, area "edge"). The peer of a connection is the client unless the
// peer is one of the operator's trusted proxies (server.trusted_proxies): then the client is the
// right-most X-Forwarded-For hop that is not itself a trusted proxy. Everything left of that hop
// was written by someone we do not trust and is ignored, so a client cannot choose its own
// address by sending X-Forwarded-For; and from an untrusted peer the header is never read.
// docs/edge.md states the rule; the address found is what logs, audit and per-IP budgets use.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pc::net {

// An address as 16 bytes, IPv4 as ::ffff:a.b.c.d, so one comparison serves both families.
struct IpAddress {
  std::array<unsigned char, 16> bytes{};
  bool v4 = false;
  std::string to_string() const;  // canonical text: "10.1.2.3", "2001:db8::1"
};

// An IP literal as found in X-Forwarded-For or a peer address: "10.1.2.3", "10.1.2.3:443",
// "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:443", "::ffff:10.1.2.3" (read as IPv4).
// Surrounding spaces and tabs are ignored. nullopt for anything else ("unknown", a name, junk).
std::optional<IpAddress> parse_ip(std::string_view text);

// A set of networks. Entries are IP literals or CIDRs as checked by the configuration loader;
// the constructor throws std::invalid_argument for one that is not.
class TrustedProxies {
 public:
  TrustedProxies() = default;
  explicit TrustedProxies(const std::vector<std::string>& entries);
  bool empty() const { return nets_.empty(); }
  bool contains(const IpAddress& ip) const;
  bool contains(std::string_view ip) const;

 private:
  struct Net {
    IpAddress base;
    int prefix;  // over the 128-bit form (an IPv4 /8 is /104)
  };
  std::vector<Net> nets_;
};

// The client address for a request from `peer` carrying these X-Forwarded-For field values (in
// the order received; one field may list several hops). From an untrusted peer: the peer. From a
// trusted one: walking the hops right to left, the first that is not a trusted proxy; if a hop
// is not an IP address the walk stops and the hop right of it (the last one a trusted proxy
// wrote) is the client; if every hop is trusted, the left-most. Returned in canonical text.
std::string client_address(std::string_view peer, const std::vector<std::string_view>& forwarded_for,
                           const TrustedProxies& trusted);

// the for= values of RFC 7239 `Forwarded` fields (in the order received),
// one element each, as client_address() takes X-Forwarded-For hops: `for=192.0.2.60`,
// `for="[2001:db8:cafe::17]:4711"` (quoted, brackets and port accepted), parameter names in any
// case. An element without for= says nothing and gives none. A value that is not an address —
// `unknown`, an obfuscated identifier (`_hidden`), a quoted string with escapes or a comma,
// malformed syntax — is given as "unknown", so the walk stops there like at a junk hop.
// Views into the fields.
std::vector<std::string_view> forwarded_for_values(const std::vector<std::string_view>& fields);

// The key a per-IP budget counts under: the IPv4 address, or the IPv6 /64 ("2001:db8:1:2::/64"),
// since one IPv6 customer is routinely handed a whole /64 and could otherwise rotate addresses
// freely. Text that is not an address is its own key.
std::string ip_key(std::string_view ip);

}  // namespace pc::net
