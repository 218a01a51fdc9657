#include "net/address_policy.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <string>

namespace pc::net {
namespace {

std::optional<std::string_view> special_v4(std::uint32_t a) {
  auto in = [a](std::uint32_t net, int bits) {
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (a & mask) == net;
  };
  if (in(0x00000000, 32)) return "unspecified";
  if (in(0x00000000, 8)) return "reserved";  // "this network"
  if (in(0x7f000000, 8)) return "loopback";
  if (in(0x0a000000, 8) || in(0xac100000, 12) || in(0xc0a80000, 16)) return "private";
  if (in(0xa9fe0000, 16)) return "link-local";
  if (in(0x64400000, 10)) return "shared address space";
  if (in(0xe0000000, 4)) return "multicast";
  if (in(0xffffffff, 32)) return "broadcast";
  if (in(0xf0000000, 4)) return "reserved";
  // IETF protocol assignments, documentation (TEST-NET-1/2/3), benchmarking, 6to4 relay.
  if (in(0xc0000000, 24) || in(0xc0000200, 24) || in(0xc6336400, 24) || in(0xcb007100, 24) ||
      in(0xc6120000, 15) || in(0xc0586300, 24))
    return "reserved";
  return std::nullopt;
}

std::uint32_t v4_at(const std::array<unsigned char, 16>& b, int off) {
  return (std::uint32_t{b[off]} << 24) | (std::uint32_t{b[off + 1]} << 16) | (std::uint32_t{b[off + 2]} << 8) |
         std::uint32_t{b[off + 3]};
}

std::optional<std::string_view> special_v6(const std::array<unsigned char, 16>& b) {
  auto zero = [&b](int from, int to) {
    for (int i = from; i < to; ++i)
      if (b[i] != 0) return false;
    return true;
  };
  if (zero(0, 16)) return "unspecified";
  if (zero(0, 15) && b[15] == 1) return "loopback";
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated): the IPv4 address decides.
  if (zero(0, 10) && b[10] == 0xff && b[11] == 0xff) return special_v4(v4_at(b, 12));
  if (zero(0, 12)) return special_v4(v4_at(b, 12));
  // NAT64 well-known prefix 64:ff9b::/96: the gateway's network translates it to that IPv4 address.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12)) return special_v4(v4_at(b, 12));
  if ((b[0] & 0xfe) == 0xfc) return "private";                   // fc00::/7 ULA
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";     // fec0::/10 site-local (deprecated)
  if (b[0] == 0xff) return "multicast";
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return "reserved";  // documentation
  if (b[0] == 0x01 && zero(1, 8)) return "reserved";                                   // 100::/64 discard
  // 6to4 (2002::/16) carries an IPv4 address in bits 16..47.
  if (b[0] == 0x20 && b[1] == 0x02) return special_v4(v4_at(b, 2));
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> special_address(std::string_view ip) {
  if (ip.size() > 64) return "not an IP address";
  const std::string text(ip);
  unsigned char v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1)
    return special_v4((std::uint32_t{v4[0]} << 24) | (std::uint32_t{v4[1]} << 16) | (std::uint32_t{v4[2]} << 8) |
                      std::uint32_t{v4[3]});
  std::array<unsigned char, 16> v6{};
  // A zone index (fe80::1%eth0) is link-local by definition; inet_pton refuses it anyway.
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) == 1) return special_v6(v6);
  return "not an IP address";
}

}  // namespace pc::net
