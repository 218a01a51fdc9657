#include "api/a2a_card_route.h"

#include <memory>
#include <utility>

#include "a2a/card_cache.h"
#include "agents/catalog.h"
#include "api/mcp_discovery.h"
#include "auth/principal.h"
#include "core/log.h"

namespace pc::api {
namespace {

enum class Path { card, legacy };

net::Response error(int status, std::string_view code, std::string_view message, const net::Request& req) {
  return net::error_response(status, code, message, req.request_id);
}

void serve(const std::shared_ptr<const A2aCardRouteDeps>& d, Path path, std::shared_ptr<net::Request> req,
           Caller caller, net::Responder reply) {
  auto agent = d->catalog->usable(req->param("agent"), *d->capabilities, caller->tenant, caller.tier);
  // Not usable, or not an A2A agent: the same answer as no agent at all.
  if (!agent || agent->protocol != "a2a")
    return reply(error(404, "not_found", "no A2A agent of that name is available to this tenant", *req));
  if (!d->cards) return reply(error(503, "card_unavailable", "agent cards are not served by this gateway", *req));
  const bool legacy = path == Path::legacy || wants_legacy_card(req->header("a2a-version"));
  d->cards->get(*agent, [d, agent, legacy, req, caller, reply](std::shared_ptr<const a2a::CardEntry> entry,
                                                              std::string why) mutable {
    if (!entry) {
      log::warn("a2a: agent card not served", {{"agent", agent->name}, {"reason", why}, {"request_id", req->request_id}});
      return reply(error(502, why.empty() ? "card_unavailable" : why,
                         why == "card_stale" ? "the agent's runtime has not served its card for too long"
                                             : "the agent's runtime serves no agent card",
                         *req));
    }
    std::string text;
    try {
      const a2a::CardViewer viewer{caller->tenant, caller.tier};
      text = legacy ? d->cards->render_v03(*agent, *entry, viewer) : d->cards->render(*agent, *entry, viewer);
    } catch (const std::exception& e) {
      log::error("a2a: agent card not rendered", {{"agent", agent->name}, {"error", e.what()}, {"request_id", req->request_id}});
      return reply(error(503, "card_unavailable", "the agent card cannot be signed now; try again later", *req));
    }
    auto r = net::Response::json(200, std::move(text));
    r.headers.push_back({"Vary", "A2A-Version, Authorization"});
    // Per tenant (skills) and behind a token: never in a shared cache.
    r.headers.push_back({"Cache-Control", "private, max-age=60"});
    reply(std::move(r));
  });
}

}  // namespace

bool wants_legacy_card(const std::string* v) {
  if (!v) return true;
  std::string_view s(*v);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s.empty() || s.front() == '0';
}

void add_a2a_card_routes(net::Router& router, A2aCardRouteDeps deps) {
  auto d = std::make_shared<const A2aCardRouteDeps>(std::move(deps));
  const auto policy = Policy::tenant_only({auth::roles::kAgentInvoke, auth::roles::kMachineInvoke, auth::roles::kAgentDeveloper});
  auto metadata_url = [d] { return (d->base_url ? d->base_url() : std::string()) + "/.well-known/oauth-protected-resource"; };
  for (auto [pattern, path] : {std::pair{kA2aCardPath, Path::card}, std::pair{kA2aLegacyCardPath, Path::legacy}}) {
    auto handler = d->chain->route(policy, [d, path](std::shared_ptr<net::Request> req, Caller caller,
                                                     net::Responder reply) {
      serve(d, path, std::move(req), std::move(caller), std::move(reply));
    });
    router.add("GET", pattern, with_resource_metadata(std::move(handler), metadata_url));
  }
}

}  // namespace pc::api
