// mcp::Federation (dispatch.h) over the tenant's and the global upstream MCP servers (SPEC §7):
// lists served across every server the caller may use (in parallel, each bounded by
// mcp.list_timeout_ms: a slow or dead server drops out with a logged reason and a health report,
// never fails the list), names prefixed only when they clash (federated_names.h), cursors that
// page across servers, tools/call routed to its one server through the interceptor chains
// (fail closed), notifications relayed both ways, server→client requests relayed to the client
// and the answers routed back.
//
// Everything blocking (vault secrets, the idempotency store) runs on `blocking` (a WorkPool),
// never on the I/O thread that calls in; upstream calls run on the I/O threads
// (net::call_upstream). What the gateway wires is in FederationPorts.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "mcp/dispatch.h"
#include "mcp/interceptor.h"
#include "mcp/server.h"
#include "mcp/tool_rules.h"

namespace pc::core {
class WorkPool;
}
namespace pc::tenancy {
class Capabilities;
}
namespace pc::agents {
class Idempotency;
}

namespace pc::mcp {

class ToolCallLog;

// Mints the act-on-behalf token for one upstream (area "tools": src/auth/act_on_behalf.h):
// sub the user, act the client, aud `audience` (the server's url), cached per (session, audience).
// Throws when it cannot (the call then fails closed, -32603). Must not block on the store.
using MintPort = std::function<std::string(const McpCaller& caller, std::string_view audience,
                                           std::string_view session_id)>;
// The tenant's vault secret by name (vault::SecretsVault::get). Blocking: called on `blocking`.
using VaultPort = std::function<std::optional<std::string>(std::string_view tenant, std::string_view secret_name)>;

struct FederationPorts {
  const ServerDirectory* directory = nullptr;    // required
  ServerHealthSink* health = nullptr;            // optional
  SessionState* sessions = nullptr;              // optional: where upstream sessions are persisted
  const tenancy::Capabilities* capabilities = nullptr;  // required (null denies every server)
  PolicyPort policy;                             // required (empty denies every tool)
  MintPort mint;                                 // for servers with auth act_on_behalf
  VaultPort vault;                               // for servers with auth vault_secret
  core::WorkPool* blocking = nullptr;            // required for vault and idempotency
  agents::Idempotency* idempotency = nullptr;    // optional: tools/call ids replayed per session
  ToolCallLog* calls = nullptr;                  // optional: audit + sealed records of tools/call
  // The chains (interceptor.h): request ones run in order before idempotency and credentials,
  // response ones in order after the upstream answered. Any throw or denial ends the call.
  std::vector<std::shared_ptr<const RequestInterceptor>> request_interceptors;
  std::vector<std::shared_ptr<const ResponseInterceptor>> response_interceptors;
};

struct FederationOptions {
  core::McpConfig mcp;          // call_timeout_ms, list_timeout_ms, max_result_bytes
  std::string cursor_key;       // ≥ 32 bytes, the same on every node ("" → random: one node only)
  std::size_t page_size = 200;  // items per page of a federated list
  std::string server_name = "portcullis";
  std::string server_version = "0";
  std::string ca_file;          // for https upstreams ("" → server.upstream.ca_file by net)
  std::string instructions;     // initialize's "instructions" ("" → none)
  std::chrono::seconds secret_cache{60};  // how long a vault secret is reused within a session
};

// Builds the federation. Throws std::invalid_argument when a required port is missing.
std::shared_ptr<Federation> make_federation(FederationPorts ports, FederationOptions options);

}  // namespace pc::mcp
