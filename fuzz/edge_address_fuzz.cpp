// libFuzzer target (edge, issue 12): client address resolution from X-Forwarded-For, which any
// client may fill with anything. Input: line 1 the peer, the other lines X-Forwarded-For field
// values (then read again as RFC 7239 Forwarded fields). Whatever they hold, the answer is an IP literal the gateway can parse back, or the
// peer's own text; an untrusted peer is never replaced; nothing crashes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/edge_address.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto nl = text.find('\n', at);
    lines.push_back(text.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at));
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  static const pc::net::TrustedProxies trusted({"127.0.0.0/8", "10.0.0.0/8", "::1", "fd00::/8"});
  const std::string_view peer = lines.front();
  const std::vector<std::string_view> xff(lines.begin() + 1, lines.end());
  const std::string client = pc::net::client_address(peer, xff, trusted);
  const auto p = pc::net::parse_ip(peer);
  if (p) {
    if (!pc::net::parse_ip(client)) __builtin_trap();  // always an address
    if (!trusted.contains(*p) && client != p->to_string()) __builtin_trap();  // untrusted: the peer
  } else if (client != peer) {
    __builtin_trap();
  }
  (void)pc::net::ip_key(client);
  // the same lines read as RFC 7239 Forwarded fields — every for= value is
  // a view into the input, and the same guarantees hold for the address they resolve to.
  const auto values = pc::net::forwarded_for_values(xff);
  for (std::string_view v : values) {
    const bool inside = v.data() >= text.data() && v.data() + v.size() <= text.data() + text.size();
    if (!inside && v != "unknown") __builtin_trap();
  }
  const std::string via = pc::net::client_address(peer, values, trusted);
  if (p) {
    if (!pc::net::parse_ip(via)) __builtin_trap();
    if (!trusted.contains(*p) && via != p->to_string()) __builtin_trap();
  } else if (via != peer) {
    __builtin_trap();
  }
  return 0;
}
