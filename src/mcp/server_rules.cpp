#include "mcp/server_rules.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "tenancy/tenant_id.h"
#include "vault/secrets.h"

namespace pc::mcp {
namespace {

constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMaxToolName = 128;

bool lower(char c) { return c >= 'a' && c <= 'z'; }
bool upper(char c) { return c >= 'A' && c <= 'Z'; }
bool digit(char c) { return c >= '0' && c <= '9'; }

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (upper(x) ? x + 32 : x) == (upper(y) ? y + 32 : y);
         });
}

// Host names as DNS has them (letters, digits, '-', '.'), or an IPv4 address: the host goes into
// the upstream request's Host line and into the act-on-behalf audience, so nothing else passes.
bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.front() == '-') return false;
  return std::all_of(h.begin(), h.end(), [](char c) { return lower(c) || upper(c) || digit(c) || c == '.' || c == '-'; });
}

// RFC 3986 path and query characters (percent-encoded bytes stay encoded); no spaces, no
// controls, no '#'.
bool valid_path(std::string_view p) {
  static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/?%";
  return std::all_of(p.begin(), p.end(), [](char c) {
    return lower(c) || upper(c) || digit(c) || kAllowed.find(c) != std::string_view::npos;
  });
}

}  // namespace

std::optional<ServerUrl> parse_server_url(std::string_view url) {
  if (url.size() > kMaxUrlBytes) return std::nullopt;
  ServerUrl u;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    u.scheme = "http";
    u.port = 80;
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    u.scheme = "https";
    u.port = 443;
    rest = url.substr(8);
  } else {
    return std::nullopt;
  }
  if (rest.find('#') != std::string_view::npos) return std::nullopt;  // a fragment is never sent
  const auto path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // credentials belong in `auth`
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    if (u.host.empty() || !std::all_of(u.host.begin(), u.host.end(), [](char c) {
          return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
        }))
      return std::nullopt;  // no zone id
    in6_addr addr{};
    if (::inet_pton(AF_INET6, u.host.c_str(), &addr) != 1) return std::nullopt;
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (!valid_host_name(u.host)) return std::nullopt;
  }
  if (has_port) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    u.port = static_cast<std::uint16_t>(value);
  }
  if (!valid_path(path)) return std::nullopt;
  u.path = path.empty() ? "/" : (path.front() == '?' ? "/" + std::string(path) : std::string(path));
  return u;
}

bool is_valid_server_name(std::string_view name) { return tenancy::is_valid_tenant_id(name); }

bool is_valid_auth_header(std::string_view header) {
  if (header.empty() || header.size() > 64) return false;
  static constexpr std::string_view kTchar = "!#$%&'*+-.^_`|~";
  if (!std::all_of(header.begin(), header.end(),
                   [](char c) { return lower(c) || upper(c) || digit(c) || kTchar.find(c) != std::string_view::npos; }))
    return false;
  // Headers the gateway itself sets or that change how the request is framed, routed or kept:
  // a secret placed there would break the call or smuggle a second meaning into it.
  static constexpr std::array<std::string_view, 14> kReserved = {
      "host",          "content-length",       "content-type", "transfer-encoding", "connection",
      "keep-alive",    "upgrade",              "te",           "trailer",           "proxy-connection",
      "mcp-session-id", "mcp-protocol-version", "accept",      "x-request-id"};
  return std::none_of(kReserved.begin(), kReserved.end(), [&](std::string_view r) { return ieq(r, header); });
}

std::optional<std::string> check_auth(std::string_view mode, std::string_view secret, std::string_view header) {
  if (mode == "none" || mode == "act_on_behalf") {
    if (!secret.empty() || !header.empty())
      return "auth.secret and auth.header are only for auth.mode vault_secret";
    return std::nullopt;
  }
  if (mode != "vault_secret") return "auth.mode must be none, act_on_behalf or vault_secret";
  if (secret.empty()) return "auth.mode vault_secret needs auth.secret: the name of a secret in the tenant's vault";
  if (!vault::SecretsVault::valid_name(secret))
    return "auth.secret must be a secret name: 1 to 128 characters of A-Z a-z 0-9 . _ -";
  if (!header.empty() && !is_valid_auth_header(header))
    return "auth.header must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~, at most 64) other than "
           "Host, Content-Length, Content-Type, Transfer-Encoding, Connection, Accept or an Mcp-* header";
  return std::nullopt;
}

std::optional<std::string> check_timeout(std::int64_t timeout_ms) {
  if (timeout_ms == 0 || (timeout_ms >= kMinTimeoutMs && timeout_ms <= kMaxTimeoutMs)) return std::nullopt;
  return "timeoutMs must be 0 (the configured default) or " + std::to_string(kMinTimeoutMs) + " to " +
         std::to_string(kMaxTimeoutMs);
}

std::optional<std::string> check_disabled_tools(const std::vector<std::string>& tools) {
  if (tools.size() > kMaxDisabledTools)
    return "disabledTools holds at most " + std::to_string(kMaxDisabledTools) + " names";
  for (const auto& t : tools) {
    if (t.empty() || t.size() > kMaxToolName ||
        std::any_of(t.begin(), t.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
      return "disabledTools: each name is 1 to 128 characters without control characters";
  }
  return std::nullopt;
}

}  // namespace pc::mcp
