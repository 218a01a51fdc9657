// Which IP addresses an outbound call to a target someone else named (a tenant's webhook URL)
// may reach. Server-side request forgery turns the gateway into a proxy into its own network: a
// URL naming, or a host name resolving to, loopback, the cloud metadata service
// (169.254.169.254), an RFC 1918 or ULA address, … would let a tenant probe or call what only
// the gateway can reach. So such targets are refused unless the operator allows private targets
// (tests, an all-internal deployment). The check is on addresses, never on names: a name is
// judged by every address it resolves to, at registration and again at connect time (DNS
// rebinding: the answer may change in between), through FetchOptions::address_allowed.
#pragma once

#include <optional>
#include <string_view>

namespace pc::net {

// Why `ip` (an IPv4 or IPv6 literal, without brackets) is not a public unicast address:
// "loopback", "unspecified", "private" (RFC 1918, IPv6 ULA fc00::/7), "link-local"
// (169.254/16 — the metadata service —, fe80::/10), "shared address space" (CGNAT 100.64/10),
// "multicast", "broadcast", "reserved" (0/8, 240/4, documentation and benchmarking ranges, …).
// IPv4-mapped and -compatible IPv6 addresses (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96) are
// judged by the IPv4 address they carry. Something that is not an IP literal → "not an IP
// address". nullopt: a public address.
std::optional<std::string_view> special_address(std::string_view ip);

}  // namespace pc::net
