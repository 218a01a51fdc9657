// The A2A proxy (SPEC §5, docs/a2a.md): POST /a2a/{agent} (JSON-RPC, A2A 1.0 and 0.3 methods)
// and the HTTP+JSON binding under /a2a/{agent}/… (1.0 paths, 0.3 paths under /v1).
//
//   chain (Agent.Invoke | Machine.Invoke) → the agent, usable by the tenant and speaking a2a (else
//   404) → parse (a2a/protocol.h; A2A-Version negotiated) → agent call rules (loop, depth: 403) →
//   health (503 + Retry-After) → the runtime's card (CardCache: where to call) → on the work
//   pool: the task / context named must be the caller's (TaskBindings; else TaskNotFoundError,
//   and a real foreign id is a tenant-access violation), a push config is swapped for the relay's
//   (PushRelay), the context's gateway session is found or created → the runtime, on its
//   registered origin only, with X-Portcullis-Identity / X-Portcullis-Session-Id and never the
//   caller's token:
//     buffered: the answer read whole, the ids it reveals bound (durably) before it is relayed;
//     stream:   SSE relayed event by event; an event revealing a new task or context is held
//               until its binding is durable; the runtime's call is cancelled when the client
//               goes away; a runtime dying mid-stream ends the stream with an A2A error event
//   → an invocation record (mode a2a, content sealed) and metrics.
// A dependency that is missing (bindings, cards, sessions, push for push operations) refuses with
// 503: a request is never passed through unchecked.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "api/chain.h"
#include "api/invoke_ports.h"
#include "net/router.h"

namespace pc::agents {
class AgentCatalog;
class InvocationLog;
class SessionService;
}  // namespace pc::agents
namespace pc::tenancy {
class Capabilities;
}
namespace pc::core {
class WorkPool;
}
namespace pc::a2a {
class TaskBindings;
class CardCache;
class PushRelay;
}  // namespace pc::a2a

namespace pc::api {

struct A2aRouteDeps {
  const Chain* chain = nullptr;
  const agents::AgentCatalog* catalog = nullptr;
  const tenancy::Capabilities* capabilities = nullptr;
  agents::InvocationLog* invocations = nullptr;  // nullptr: calls are not recorded
  agents::SessionService* sessions = nullptr;    // nullptr: 503
  core::WorkPool* pool = nullptr;                // the blocking binding and push-config work; nullptr: 503
  a2a::TaskBindings* bindings = nullptr;         // nullptr: 503
  a2a::CardCache* cards = nullptr;               // nullptr: 503
  a2a::PushRelay* push = nullptr;                // nullptr: push operations answer 503
  // identity_token, call_refusal, unavailable (the invoke route's ports; unset identity or call
  // rules: 503).
  InvokePorts ports;
  // a2a.* settings (core/config.h A2aConfig).
  std::chrono::milliseconds call_timeout{60000};
  std::chrono::milliseconds stream_idle_timeout{300000};
  std::size_t max_answer_bytes = 4u << 20;
  std::size_t record_capture_bytes = 64u << 10;
  std::chrono::milliseconds sse_heartbeat{15000};
};

// POST /a2a/{agent}, and the REST binding's GET/POST/DELETE /a2a/{agent}/… paths. Register after
// the card routes (/a2a/{agent}/.well-known/…): the REST patterns are generic by segment count.
void add_a2a_routes(net::Router& router, A2aRouteDeps deps);

}  // namespace pc::api
