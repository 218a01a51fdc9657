// What an upstream MCP server's registration may say (SPEC §7, area "servers"): its url, its name,
// how the gateway authenticates to it, and the small fields. Pure functions: the registry and
// its tests use them, and nothing here touches the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pc::mcp {

// An http(s) url taken apart. Refused: another scheme, userinfo ("user@"), a fragment, a missing
// host, a port outside 1..65535, spaces or control characters anywhere, more than 2048 bytes.
// The host is a name, an IPv4 address or an IPv6 literal in brackets (kept without them); the
// port defaults to 80 or 443; the path keeps its query and is "/" at least.
struct ServerUrl {
  std::string scheme;
  std::string host;
  std::uint16_t port = 0;
  std::string path;
};
std::optional<ServerUrl> parse_server_url(std::string_view url);

// Server names follow the tenant-id rule (so "__", the federation's prefix separator, cannot
// occur in one).
bool is_valid_server_name(std::string_view name);

// An HTTP header name (RFC 9110 token) the gateway may set on the upstream call: not one that
// frames or routes the request (Host, Content-Length, Transfer-Encoding, Connection, …) nor an
// MCP transport header.
bool is_valid_auth_header(std::string_view header);

inline constexpr std::string_view kDefaultAuthHeader = "Authorization";
inline constexpr std::int64_t kMinTimeoutMs = 100;
inline constexpr std::int64_t kMaxTimeoutMs = 600000;
inline constexpr std::size_t kMaxDisabledTools = 1000;

// One refusal message (for a 400) per field, or nullopt when the value is acceptable.
std::optional<std::string> check_auth(std::string_view mode, std::string_view secret, std::string_view header);
std::optional<std::string> check_timeout(std::int64_t timeout_ms);
std::optional<std::string> check_disabled_tools(const std::vector<std::string>& tools);

}  // namespace pc::mcp
