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
#include "a2a/task_bindings.h"

namespace pc::a2a {
class CardCache;
class PushRelay;
}  // namespace pc::a2a

namespace pc::api {

// The route's view of a2a::TaskBindings (blocking calls, run on `pool`), as ports so that the
// route and its tests depend on the interface only; binding_ports() wires the real object.
struct A2aBindingPorts {
  std::function<a2a::Lookup(const a2a::Owner&, std::string_view task_id, a2a::TaskRecord* out)> task;
  std::function<a2a::Lookup(const a2a::Owner&, std::string_view context_id, std::string* session_id)> context;
  std::function<bool(const a2a::Owner&, std::string_view context_id, std::string_view session_id)> bind_context;
  std::function<bool(const a2a::Owner&, std::string_view task_id, std::string_view context_id,
                     std::string_view session_id, std::string_view state)>
      bind_task;
  std::function<void(const a2a::Owner&, std::string_view task_id, std::string_view state)> set_state;
  bool complete() const { return task && context && bind_context && bind_task && set_state; }
};
inline A2aBindingPorts binding_ports(a2a::TaskBindings& b) {
  A2aBindingPorts p;
  p.task = [&b](const a2a::Owner& o, std::string_view id, a2a::TaskRecord* out) { return b.task(o, id, out); };
  p.context = [&b](const a2a::Owner& o, std::string_view id, std::string* sid) { return b.context(o, id, sid); };
  p.bind_context = [&b](const a2a::Owner& o, std::string_view c, std::string_view s) { return b.bind_context(o, c, s); };
  p.bind_task = [&b](const a2a::Owner& o, std::string_view t, std::string_view c, std::string_view s,
                     std::string_view st) { return b.bind_task(o, t, c, s, st); };
  p.set_state = [&b](const a2a::Owner& o, std::string_view t, std::string_view st) { b.set_state(o, t, st); };
  return p;
}

struct A2aRouteDeps {
  const Chain* chain = nullptr;
  const agents::AgentCatalog* catalog = nullptr;
  const tenancy::Capabilities* capabilities = nullptr;
  agents::InvocationLog* invocations = nullptr;  // nullptr: calls are not recorded
  agents::SessionService* sessions = nullptr;    // nullptr: 503
  core::WorkPool* pool = nullptr;                // the blocking binding and push-config work; nullptr: 503
  A2aBindingPorts bindings;                      // incomplete: 503
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
