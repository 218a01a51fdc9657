#include "mcp/federation_setup.h"

#include <stdexcept>

#include "auth/act_on_behalf.h"
#include "auth/principal.h"
#include "mcp/external_hook.h"
#include "mcp/interceptor_chain.h"
#include "mcp/policy.h"
#include "mcp/request_guards.h"
#include "vault/secrets.h"

namespace pc::mcp {

std::shared_ptr<Federation> build_federation(const core::McpConfig& mcp, FederationSetup setup,
                                             FederationOptions options) {
  using namespace std::chrono_literals;
  FederationPorts ports;
  ports.directory = setup.directory;
  ports.health = setup.health;
  ports.sessions = setup.sessions;
  ports.capabilities = setup.capabilities;
  ports.blocking = setup.blocking;
  ports.idempotency = setup.idempotency;
  ports.calls = setup.calls;
  // The one rule set's policy part: the same rules the policy interceptor applies, asked when
  // listing too, so a tool a rule denies is absent (unknown) rather than listed and refused.
  ports.policy = [rules = mcp.policies](std::string_view tenant, const std::vector<std::string>& roles,
                                        std::string_view server, std::string_view tool) {
    return policy_allows(rules, tenant, roles, server, tool);
  };
  if (setup.on_behalf) {
    ports.mint = [issuer = setup.on_behalf](const McpCaller& caller, std::string_view audience,
                                            std::string_view session_id) {
      if (!caller.principal) throw std::runtime_error("no principal");
      return issuer->server_token_for(*caller.principal, caller.tier, audience, session_id);
    };
  }
  if (setup.vault) {
    ports.vault = [vault = setup.vault](std::string_view tenant, std::string_view name) {
      return vault->get(tenant, name);
    };
  }
  auto request = std::make_shared<RequestChain>(setup.interceptor_timeout);
  request->add(std::make_shared<PolicyInterceptor>(mcp.policies));
  request->add(std::make_shared<SchemaInterceptor>());
  for (auto& h : make_hooks(mcp.hooks, "request")) request->add(h, h->timeout() + 250ms);
  auto response = std::make_shared<ResponseChain>(setup.interceptor_timeout);
  for (auto& g : setup.response_guards) response->add(g);
  for (auto& h : make_hooks(mcp.hooks, "response")) response->add(h, h->timeout() + 250ms);
  ports.request_interceptors = {request};
  ports.response_interceptors = {response};
  options.mcp = mcp;
  return make_federation(std::move(ports), std::move(options));
}

}  // namespace pc::mcp
