#include "net/edge_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace pc::net {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<IpAddress> parse_literal(std::string_view s, bool v6) {
  // inet_pton wants a NUL-terminated string; addresses are short, so a stack copy.
  char buf[64];
  if (s.empty() || s.size() >= sizeof buf) return std::nullopt;
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  IpAddress ip;
  if (v6) {
    if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
    bool mapped = true;
    for (int i = 0; i < 10; ++i) mapped = mapped && ip.bytes[i] == 0;
    ip.v4 = mapped && ip.bytes[10] == 0xff && ip.bytes[11] == 0xff;
    return ip;
  }
  if (inet_pton(AF_INET, buf, ip.bytes.data() + 12) != 1) return std::nullopt;
  ip.bytes[10] = ip.bytes[11] = 0xff;
  ip.v4 = true;
  return ip;
}

}  // namespace

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) return std::nullopt;
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto rest = s.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1)))) return std::nullopt;
    return parse_literal(s.substr(1, close - 1), true);
  }
  const auto colons = std::count(s.begin(), s.end(), ':');
  if (colons == 0) return parse_literal(s, false);
  if (colons == 1) {  // a.b.c.d:port
    const auto c = s.find(':');
    if (!all_digits(s.substr(c + 1))) return std::nullopt;
    return parse_literal(s.substr(0, c), false);
  }
  return parse_literal(s, true);
}

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    const auto slash = e.find('/');
    auto ip = parse_ip(std::string_view(e).substr(0, slash));
    if (!ip) throw std::invalid_argument("not an IP address or CIDR: " + e);
    int prefix = 128;
    if (slash != std::string::npos) {
      const std::string_view p = std::string_view(e).substr(slash + 1);
      int bits = 0;
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
      // The prefix counts bits of the address as written: "::ffff:10.0.0.0/104" is IPv6 text.
      const bool v4_text = e.substr(0, slash).find(':') == std::string::npos;
      const int max = v4_text ? 32 : 128;
      if (p.empty() || ec != std::errc() || end != p.data() + p.size() || bits < 0 || bits > max)
        throw std::invalid_argument("bad prefix length: " + e);
      prefix = v4_text ? 96 + bits : bits;
    }
    nets_.push_back({*ip, prefix});
  }
}

bool TrustedProxies::contains(const IpAddress& ip) const {
  for (const auto& n : nets_) {
    int full = n.prefix / 8, rest = n.prefix % 8;
    bool in = std::equal(n.base.bytes.begin(), n.base.bytes.begin() + full, ip.bytes.begin());
    if (in && rest) {
      const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
      in = (n.base.bytes[full] & mask) == (ip.bytes[full] & mask);
    }
    if (in) return true;
  }
  return false;
}

bool TrustedProxies::contains(std::string_view ip) const {
  if (nets_.empty()) return false;
  auto a = parse_ip(ip);
  return a && contains(*a);
}

std::string client_address(std::string_view peer, const std::vector<std::string_view>& forwarded_for,
                           const TrustedProxies& trusted) {
  auto p = parse_ip(peer);
  if (!p) return std::string(peer);
  if (trusted.empty() || !trusted.contains(*p)) return p->to_string();
  IpAddress client = *p;  // the last hop a trusted party vouched for
  for (auto field = forwarded_for.rbegin(); field != forwarded_for.rend(); ++field) {
    std::string_view list = *field;
    while (!list.empty()) {
      const auto comma = list.rfind(',');
      const std::string_view hop = comma == std::string_view::npos ? list : list.substr(comma + 1);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
      if (trim(hop).empty()) continue;  // "a, , b": an empty element says nothing
      auto ip = parse_ip(hop);
      if (!ip) return client.to_string();  // junk from the left: keep what was vouched for
      client = *ip;
      if (!trusted.contains(*ip)) return client.to_string();
    }
  }
  return client.to_string();
}

std::vector<std::string_view> forwarded_for_values(const std::vector<std::string_view>& fields) {
  constexpr std::string_view kUnknown = "unknown";
  std::vector<std::string_view> out;
  for (std::string_view f : fields) {
    std::size_t i = 0;
    while (i < f.size()) {
      // One pair: name "=" value, then ';' (next pair), ',' (next element) or the end.
      while (i < f.size() && (f[i] == ' ' || f[i] == '\t' || f[i] == ';' || f[i] == ',')) ++i;
      if (i >= f.size()) break;
      const std::size_t name_start = i;
      while (i < f.size() && f[i] != '=' && f[i] != ';' && f[i] != ',') ++i;
      const std::string_view name = trim(f.substr(name_start, i - name_start));
      if (i >= f.size() || f[i] != '=') {
        if (iequals_ascii(name, "for")) out.push_back(kUnknown);  // "for" without a value
        continue;
      }
      ++i;  // '='
      while (i < f.size() && (f[i] == ' ' || f[i] == '\t')) ++i;
      std::string_view value;
      bool bad = false;
      if (i < f.size() && f[i] == '"') {
        const std::size_t start = ++i;
        while (i < f.size() && f[i] != '"') {
          if (f[i] == '\\' || f[i] == ',') bad = true;  // escapes never appear in an address
          i += f[i] == '\\' ? 2 : 1;
        }
        if (i >= f.size()) {
          bad = true;  // unterminated: the rest of the field is not trustworthy
          i = f.size();
        } else {
          value = f.substr(start, i - start);
          ++i;  // closing quote
        }
        while (i < f.size() && f[i] != ';' && f[i] != ',') {
          if (f[i] != ' ' && f[i] != '\t') bad = true;
          ++i;
        }
      } else {
        const std::size_t start = i;
        while (i < f.size() && f[i] != ';' && f[i] != ',') ++i;
        value = trim(f.substr(start, i - start));
      }
      if (iequals_ascii(name, "for")) out.push_back(bad || value.empty() ? kUnknown : value);
    }
  }
  return out;
}

std::string ip_key(std::string_view ip) {
  auto a = parse_ip(ip);
  if (!a) return std::string(ip);
  if (a->v4) return a->to_string();
  IpAddress net = *a;
  std::fill(net.bytes.begin() + 8, net.bytes.end(), 0);
  return net.to_string() + "/64";
}

}  // namespace pc::net
