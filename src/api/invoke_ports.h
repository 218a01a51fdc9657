// What the invoke route asks of the rest of the gateway, as narrow ports the gateway wires
// (src/app/gateway.cpp): the identity token for the runtime (auth::AgentIdentity), the agent
// call rules (loop, depth), the agent's health, idempotency, and the durable job queue. Each is a
// std::function so that the route depends on none of their implementations; an unset port is
// documented at its member (the route never silently skips a security check: identity and call
// rules unset mean "refuse", see agent_routes.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/stage.h"
#include "net/http.h"

namespace pc::agents {
struct AgentEntry;
}

namespace pc::api {

// An async invocation to queue: everything a worker needs to call the runtime later, on any node
// (the identity token is minted at run time from these fields, never stored).
struct AsyncInvoke {
  std::string tenant;
  std::string principal;  // subject
  std::string client;
  std::string actor;                     // act.sub of a delegated caller, else ""
  std::vector<std::string> prior_actors;  // act.act.sub, …
  std::vector<std::string> scopes;
  std::string tier;
  std::string agent;
  std::string agent_version;
  std::string scheme = "http";
  std::string host;
  std::uint16_t port = 0;
  std::string session_id;
  std::string body;             // the runtime request body (api/invoke_request.h runtime_body)
  std::string idempotency_key;  // the caller's, or "" (the job id is used)
  std::string webhook_id;       // "" = none
  std::string request_id;
  std::string invocation_id;
};
struct AsyncAccepted {
  std::string job_id;  // durable when this is delivered
};
// A refusal to queue, as the caller's answer: an unknown webhookId (400), a full queue (503).
struct AsyncRefused {
  int status = 503;
  std::string code = "overloaded";
  std::string message = "the job queue is full; try again later";
  // The refusal stands for a tenant-access violation (another tenant's real webhookId): the
  // answer is the same as for an unknown id, and the call is audited as the violation too.
  bool violation = false;
};
using AsyncDone = std::function<void(std::variant<AsyncAccepted, AsyncRefused>)>;

// Runs `call` (which answers through the Responder it is given) under the caller's
// Idempotency-Key: replays, 409 in flight, 422 reused with another body (records'
// api::run_idempotent).
using IdempotentCall = std::function<void(net::Responder)>;

struct InvokePorts {
  // X-Portcullis-Identity for the runtime (AgentIdentity::token_for). Unset: invocations are
  // refused with 503 (an agent must never be called without the gateway's statement of who calls).
  std::function<std::string(const auth::Principal& caller, std::string_view tier, std::string_view agent,
                            std::string_view session_id)>
      identity_token;
  // "loop" or "depth" when this caller may not call `agent` (agent_call_refusal); nullopt = may.
  std::function<std::optional<std::string>(const auth::Principal& caller, std::string_view agent)> call_refusal;
  // Seconds for Retry-After when the agent's runtime is known to be down; nullopt = call it.
  // Unset: every agent is called.
  std::function<std::optional<int>(std::string_view agent)> unavailable;
  // "available" | "unavailable" | "unknown" for GET /v1/agents (AgentHealth::status), of the entry
  // being listed (no lookup by name). Unset: the field is left out.
  std::function<std::string(const agents::AgentEntry& agent)> health_status;
  // Unset: Idempotency-Key is refused with 501 (never ignored: a caller relying on it must know).
  std::function<void(std::shared_ptr<net::Request> req, const Caller& caller, net::Responder reply,
                     IdempotentCall call)>
      idempotent;
  // Unset: mode async answers 501 not_implemented.
  std::function<void(AsyncInvoke job, AsyncDone done)> accept_async;
};

}  // namespace pc::api
