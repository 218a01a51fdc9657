// POST/GET/DELETE /mcp: the MCP Streamable HTTP transport (protocol versions 2025-06-18 and
// 2025-11-25; docs/mcp.md "Transport"). Thin: it checks the HTTP framing (Origin, Accept,
// Content-Type, Mcp-Session-Id, MCP-Protocol-Version), parses one JSON-RPC message, keeps the
// session (mcp/sessions.h) and hands everything else to the federation (mcp/dispatch.h).
//
//   POST initialize (no Mcp-Session-Id) → a new session bound to tenant + subject + client, the
//        version negotiated, {protocolVersion, capabilities, serverInfo, instructions?} and the
//        Mcp-Session-Id header;
//   POST request   → Federation::request; the answer as application/json (ping is answered here);
//   POST notification / response → Federation::notification / client_response; 202, no body;
//   GET            → the server→client stream (405 while the network layer has no streams);
//   DELETE         → the session ends (Federation::session_ended); 204.
#pragma once

#include <functional>
#include <string>

#include "api/chain.h"
#include "net/router.h"

namespace pc::core {
class WorkPool;
}
namespace pc::mcp {
class McpSessions;
class Federation;
}  // namespace pc::mcp

namespace pc::api {

struct McpRouteDeps {
  const Chain* chain = nullptr;
  mcp::McpSessions* sessions = nullptr;
  core::WorkPool* pool = nullptr;  // session creation and the store reads of cache misses
  // nullptr: only initialize and ping are served; any other request is -32601 method not found.
  mcp::Federation* federation = nullptr;
  // The gateway's public base URL ("http://127.0.0.1:8080"): the Origin allowed besides loopback
  // pages, and where the 401 challenge points (…/.well-known/oauth-protected-resource/mcp).
  std::function<std::string()> base_url;
};

inline constexpr const char* kMcpVersionNewest = "2025-11-25";
inline constexpr const char* kMcpVersionOldest = "2025-06-18";
bool is_supported_mcp_version(std::string_view v);

// True when a browser page of `origin` may call /mcp: the gateway's own origin (scheme, host and
// port of `base_url`) or a loopback page (localhost, 127.0.0.0/8, [::1], any port). DNS
// rebinding gives an attacker's page the attacker's host name as its origin, never these.
bool mcp_origin_allowed(std::string_view origin, std::string_view base_url);

void add_mcp_routes(net::Router& router, McpRouteDeps deps);

}  // namespace pc::api
