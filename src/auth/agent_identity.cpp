#include "auth/agent_identity.h"

#include <boost/json.hpp>

#include "core/clock.h"
#include "jose/jws.h"

namespace pc::auth {
namespace {

bool is_agent_actor(std::string_view s) { return s.starts_with(kAgentAudiencePrefix); }

}  // namespace

std::optional<std::string> agent_call_refusal(const Principal& caller, std::string_view agent, std::size_t max_depth) {
  const std::vector<std::string> chain = actor_chain(caller);
  std::size_t agents = 0;
  for (const auto& a : chain) {
    if (!is_agent_actor(a)) continue;
    if (std::string_view(a).substr(kAgentAudiencePrefix.size()) == agent) return "loop";
    ++agents;
  }
  // The callee would be agent number agents + 1; its identity token (and the token its own call
  // would be exchanged for) must still fit the verifier's act limit.
  if (agents >= max_depth || chain.size() + 1 > kMaxActChain) return "depth";
  return std::nullopt;
}

AgentIdentity::AgentIdentity(const SigningKeys& keys, std::string issuer) : tokens_(keys, std::move(issuer)) {}

std::string AgentIdentity::token_for(const Principal& caller, std::string_view tier, std::string_view agent,
                                     std::string_view session_id) const {
  return token_for(caller, tier, agent, session_id, core::unix_now());
}

std::string AgentIdentity::token_for(const Principal& caller, std::string_view tier, std::string_view agent,
                                     std::string_view session_id, std::int64_t now) const {
  std::string audience;
  audience.reserve(kAgentAudiencePrefix.size() + agent.size());
  audience += kAgentAudiencePrefix;
  audience += agent;
  return tokens_.token_for(caller, tier, audience, session_id, now);
}

std::variant<IdentityClaims, std::string> verify_identity_token(std::string_view token, const jose::JwkSet& keys,
                                                                std::string_view issuer, std::int64_t now,
                                                                std::int64_t leeway_seconds) {
  if (issuer.empty()) return std::string("the gateway's issuer is not known yet");
  // The audience names the agent; read it (unverified) to tell the claim check which one to expect.
  std::string aud;
  try {
    jose::ParsedJws parsed = jose::parse_jws(token, {.require_typ = true});
    if (parsed.typ != "JWT") return std::string("not an identity token (typ)");
    const auto* a = parsed.payload.if_contains("aud");
    if (!a || !a->is_string() || !a->get_string().starts_with(kAgentAudiencePrefix) ||
        a->get_string().size() == kAgentAudiencePrefix.size())
      return std::string("not an identity token (aud)");
    aud = std::string(a->get_string());
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  auto v = verify_on_behalf_token(token, keys, issuer, aud, now, leeway_seconds);
  if (auto* why = std::get_if<std::string>(&v)) return std::move(*why);
  auto& o = std::get<OnBehalfClaims>(v);
  IdentityClaims c;
  c.agent = aud.substr(kAgentAudiencePrefix.size());
  c.subject = std::move(o.subject);
  c.tenant = std::move(o.tenant);
  c.app = std::move(o.app);
  c.client = std::move(o.client);
  c.tier = std::move(o.tier);
  c.session_id = std::move(o.session_id);
  c.token_id = std::move(o.token_id);
  c.scopes = std::move(o.scopes);
  c.actors = std::move(o.actors);
  c.expires_at = o.expires_at;
  return c;
}

}  // namespace pc::auth
