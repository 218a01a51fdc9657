// Agent → agent through the gateway, as the example agent does it (docs/agent-identity.md): the
// identity token this agent received is exchanged at the gateway's token endpoint (RFC 8693, the
// token itself is the proof, no client secret) for an access token that speaks for the same user
// with this agent as the acting party, and the other agent is invoked with it. The gateway, not
// the agent, decides whether the call may happen (loops, depth, the user's tenant and rights).
#pragma once

#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace pc::examples {

struct GatewayEndpoint {
  std::string url;      // "http://127.0.0.1:8080", no trailing slash
  std::string ca_file;  // https trust anchors; empty = the system store
};

// Blocking (two HTTP calls): run it off the I/O thread. Never throws: every outcome is described
// in the returned object, {"agent", "status", "response"} when the invoke was made (any status),
// or {"agent", "status", "stage":"exchange", "response"} when the exchange was refused, or
// {"agent", "status":0, "error"} when the gateway could not be reached.
boost::json::object call_agent(const GatewayEndpoint& gw, const std::string& identity_token, std::string_view agent,
                               const boost::json::value& input, std::string_view request_id);

}  // namespace pc::examples
