// Tenant-facing agent routes (SPEC §5): what the caller's tenant may invoke, and the invocation
// itself (api/invoke_route.h: sync, stream and async modes, sessions, identity to the agent).
// Both ask one rule, agents::may_use_agent (tier, capabilities agents.invoke and agents.<name>).
#pragma once

#include <chrono>

#include "agents/catalog.h"
#include "api/chain.h"
#include "api/invoke_ports.h"
#include "net/router.h"
#include "tenancy/capabilities.h"

namespace pc::agents {
class InvocationLog;
class SessionService;
}  // namespace pc::agents

namespace pc::api {

struct AgentRoutesDeps {
  const Chain* chain = nullptr;
  const agents::AgentCatalog* catalog = nullptr;
  const tenancy::Capabilities* capabilities = nullptr;
  agents::InvocationLog* invocations = nullptr;  // nullptr: invocations are not recorded
  agents::SessionService* sessions = nullptr;  // nullptr: no sessions (a sessionId given is unknown)
  InvokePorts ports;                           // identity, call rules, health, idempotency, jobs
  std::chrono::milliseconds sse_heartbeat{15000};
};

// GET /v1/agents, GET /v1/agents/{name}, POST /v1/agents/{name}/invoke.
void add_agent_routes(net::Router& router, AgentRoutesDeps deps);

}  // namespace pc::api
