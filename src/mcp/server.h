// An upstream MCP server as the federation sees it (SPEC §7), and where the federation reads the
// servers a tenant may use. Owner: area "servers" (registry, Admin API, ops); read by "federation".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pc::mcp {

// How the gateway authenticates to the server. The client's own token is never forwarded.
enum class UpstreamAuth {
  none,
  act_on_behalf,  // Authorization: Bearer <act-on-behalf token, aud = the server's url>
  vault_secret,   // the calling tenant's vault secret `secret` in header `header`
};

struct ServerEntry {
  std::string tenant;  // "" for a global (platform) server
  std::string name;    // the tenant-id rule; unique among the globals and each tenant's own
  std::string url;     // the Streamable HTTP endpoint, http(s)://host[:port]/path
  UpstreamAuth auth = UpstreamAuth::none;
  std::string secret;  // vault_secret: the secret's name in the calling tenant's vault
  std::string header;  // vault_secret: the header it is put in ("Authorization": "Bearer <secret>")
  std::string tier_minimum = "basic";
  bool enabled = true;
  std::vector<std::string> disabled_tools;  // the server's tool names that are switched off
  std::int64_t timeout_ms = 0;              // per call; 0 = the configured default
  std::int64_t created_at = 0;              // unix ms
  std::int64_t updated_at = 0;

  // The url taken apart (filled by the registry when it loads or accepts an entry).
  std::string scheme;  // http | https
  std::string host;    // without brackets
  std::uint16_t port = 0;
  std::string path;    // with query, "/" at least

  bool is_global() const { return tenant.empty(); }
};

// What the federation reads on every request: an immutable snapshot, swapped on each change (and
// on other nodes within a short poll interval).
class ServerDirectory {
 public:
  virtual ~ServerDirectory() = default;
  // The globals and the tenant's own servers, enabled or not, ordered by name.
  virtual std::shared_ptr<const std::vector<ServerEntry>> for_tenant(std::string_view tenant) const = 0;
};

// Where the federation reports what it learned of a server, for operators (GET …/mcp-servers/{name}
// shows status, checkedAt, lastError, and the last tools/list). Per (tenant of the server, name).
class ServerHealthSink {
 public:
  virtual ~ServerHealthSink() = default;
  // ok: reached and answered; reason: why not (safe to show operators); tools_json: the raw
  // "tools" array of its last successful tools/list, or "" when this report carries none.
  virtual void report(std::string_view server_tenant, std::string_view name, bool ok, std::string_view reason,
                      std::string_view tools_json) = 0;
};

}  // namespace pc::mcp
