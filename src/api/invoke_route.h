// POST /v1/agents/{name}/invoke (SPEC §5, docs/agent-runtime-contract.md): the three modes.
//
//   find the agent (tier + capabilities) → parse the body → agent call rules (loop, depth) →
//   health (503 + Retry-After) → [Idempotency-Key: records' run_idempotent] → open the session →
//     sync:   buffered forward; the runtime's JSON becomes the SPEC answer (ForwardTo::transform)
//     stream: relayed SSE with heartbeats and a capture of the start for the record
//     async:  queued durably (jobs), 202 once durable
//   → the invocation record when the exchange ends (ForwardOutcome), with output and usage.
//
// The runtime gets the gateway's own statement of the caller (X-Portcullis-Identity) and the
// session (X-Portcullis-Session-Id); the caller's credentials never cross (net strips them).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "api/invoke_ports.h"
#include "api/stage.h"
#include "net/http.h"

namespace pc::agents {
class AgentCatalog;
class InvocationLog;
class SessionService;
}  // namespace pc::agents
namespace pc::tenancy {
class Capabilities;
}

namespace pc::api {

struct InvokeDeps {
  const agents::AgentCatalog* catalog = nullptr;
  const tenancy::Capabilities* capabilities = nullptr;
  agents::InvocationLog* invocations = nullptr;  // nullptr: invocations are not recorded
  agents::SessionService* sessions = nullptr;    // nullptr: no sessions (a sessionId given is unknown)
  InvokePorts ports;
  // Stream mode: how much of the relayed stream the record keeps, and the idle time after which
  // a keep-alive comment goes to the client (proxies drop idle connections).
  std::size_t stream_capture_bytes = 64u << 10;
  std::chrono::milliseconds sse_heartbeat{15000};
};

// The route's handler; `d` is shared by every request of the route.
void serve_invoke(const std::shared_ptr<const InvokeDeps>& d, std::shared_ptr<net::Request> req, Caller caller,
                  net::Responder reply);

}  // namespace pc::api
