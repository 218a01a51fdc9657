#include "api/agent_availability.h"

#include <string>

namespace pc::api {

std::string_view agent_status(const agents::AgentHealth* health, const agents::AgentEntry& agent) {
  return health ? health->status(agent) : agents::kUnknown;
}

std::optional<net::Response> unavailable_answer(const agents::AgentHealth* health, const agents::AgentEntry& agent,
                                                std::string_view request_id) {
  if (!health || health->available(agent)) return std::nullopt;
  auto r = net::error_response(503, "agent_unavailable",
                               "the agent's runtime is not answering its health check; try again later", request_id);
  r.headers.push_back({"Retry-After", std::to_string(health->retry_after_seconds())});
  return r;
}

}  // namespace pc::api
