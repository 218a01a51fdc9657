// What the tenant-facing agent routes ask AgentHealth (records, issue 9), in one place: the
// status shown by GET /v1/agents, and the 503 an invocation of a runtime that is down gets
// instead of waiting for a connect timeout.
#pragma once

#include <optional>
#include <string_view>

#include "agents/agent_health.h"
#include "net/http.h"

namespace pc::api {

// "available" | "unavailable" | "unknown" ("unknown" too when there is no checker).
std::string_view agent_status(const agents::AgentHealth* health, const agents::AgentEntry& agent);

// 503 agent_unavailable with Retry-After (the check interval, whole seconds) when the checker
// says the agent's runtime is down; nullopt when it may be called (no checker, unknown, up).
std::optional<net::Response> unavailable_answer(const agents::AgentHealth* health, const agents::AgentEntry& agent,
                                                std::string_view request_id);

}  // namespace pc::api
