// Tenant-facing agent routes (SPEC §5): what the caller's tenant may invoke, and the invocation
// itself (forwarded to the agent's runtime as a streamed proxy). Both ask one rule,
// agents::may_use_agent (tier, capabilities agents.invoke and agents.<name>); the full invocation contract (sessions, jobs,
// usage) comes with issue 8.
#pragma once

#include "agents/catalog.h"
#include "api/chain.h"
#include "net/router.h"
#include "tenancy/capabilities.h"

namespace pc::agents {
class InvocationLog;
class JobService;  // issue 9: jobs
}

namespace pc::api {

struct AgentRoutesDeps {
  const Chain* chain = nullptr;
  const agents::AgentCatalog* catalog = nullptr;
  const tenancy::Capabilities* capabilities = nullptr;
  agents::InvocationLog* invocations = nullptr;  // nullptr: invocations are not recorded
  // issue 9: jobs — body `mode: "async"` hands the call to the job service (nullptr: no async).
  agents::JobService* jobs = nullptr;
};

// GET /v1/agents, GET /v1/agents/{name}, POST /v1/agents/{name}/invoke.
void add_agent_routes(net::Router& router, AgentRoutesDeps deps);

}  // namespace pc::api
