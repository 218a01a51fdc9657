// Tenant-facing agent routes (SPEC §5): what the caller's tenant may invoke, and the invocation
// itself (forwarded to the agent's runtime as a streamed proxy). Tier-filtered today; capability
// filtering and the full invocation contract (sessions, jobs, usage) come with the registry.
#pragma once

#include "agents/catalog.h"
#include "api/guard.h"
#include "net/router.h"

namespace pc::api {

struct AgentRoutesDeps {
  const Guard* guard = nullptr;
  const agents::AgentCatalog* catalog = nullptr;
};

// GET /v1/agents, GET /v1/agents/{name}, POST /v1/agents/{name}/invoke.
void add_agent_routes(net::Router& router, AgentRoutesDeps deps);

}  // namespace pc::api
