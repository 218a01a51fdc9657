// GET /a2a/{agent}/.well-known/agent-card.json and GET /a2a/{agent}/.well-known/agent.json: the
// agent card the gateway serves for an A2A agent (docs/a2a-cards.md). Behind the stage chain
// (tenant principals holding Agent.Invoke, Machine.Invoke or Agent.Developer); an agent the
// caller's tenant may not use, or one whose protocol is not `a2a`, is 404 like one that does not
// exist. A 401 names the gateway's protected-resource metadata (RFC 9728), as /mcp does, so a
// client holding only the card URL finds the token endpoint.
//
// Which shape: agent.json is the 0.3 card; agent-card.json is the 1.0 card when the request says
// `A2A-Version: 1.x` (the 1.0 SDK client does), else the 0.3 card (an absent A2A-Version means
// 0.3, A2A 1.0 §3.6; what the SDK's own server does with legacy compatibility on).
#pragma once

#include <functional>
#include <string>

#include "api/chain.h"
#include "net/router.h"

namespace pc::agents {
class AgentCatalog;
}
namespace pc::tenancy {
class Capabilities;
}
namespace pc::a2a {
class CardCache;
}

namespace pc::api {

struct A2aCardRouteDeps {
  const Chain* chain = nullptr;
  const agents::AgentCatalog* catalog = nullptr;
  const tenancy::Capabilities* capabilities = nullptr;
  a2a::CardCache* cards = nullptr;  // nullptr: 503 (never an unchecked answer)
  std::function<std::string()> base_url;  // for the 401's resource_metadata
};

inline constexpr const char* kA2aCardPath = "/a2a/{agent}/.well-known/agent-card.json";
inline constexpr const char* kA2aLegacyCardPath = "/a2a/{agent}/.well-known/agent.json";

// true: serve the 0.3 shape for this A2A-Version header value (nullptr: absent).
bool wants_legacy_card(const std::string* a2a_version);

void add_a2a_card_routes(net::Router& router, A2aCardRouteDeps deps);

}  // namespace pc::api
