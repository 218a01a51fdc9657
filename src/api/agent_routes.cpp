#include "api/agent_routes.h"

#include <boost/json.hpp>

#include "core/json_text.h"

#include "api/invoke_route.h"
#include "api/paging.h"

namespace pc::api {
namespace {

boost::json::object agent_json(const AgentRoutesDeps& d, const agents::AgentEntry& a) {
  boost::json::object o{{"name", a.name},
                        {"description", a.description},
                        {"tierMinimum", a.tier_minimum},
                        {"protocol", a.protocol},
                        {"version", a.version}};
  // Whether the runtime answers its pings (a down runtime is refused with 503, not waited on).
  if (d.ports.health_status) o["status"] = d.ports.health_status(a.name);
  return o;
}

// What the tenant may not use (agents::may_use_agent, the same rule as the list) is
// indistinguishable from what does not exist.
std::shared_ptr<const agents::AgentEntry> find(const AgentRoutesDeps& d, const Caller& caller, std::string_view name) {
  return d.catalog->usable(name, *d.capabilities, caller->tenant, caller.tier);
}

net::Response no_such_agent(const net::Request& req) {
  return net::error_response(404, "not_found", "no agent of that name is available to this tenant", req.request_id);
}

}  // namespace

void add_agent_routes(net::Router& router, AgentRoutesDeps d) {
  router.add("GET", "/v1/agents", d.chain->route(Policy::tenant_only(), [d](auto req, Caller caller, net::Responder reply) {
    auto page = page_of(req->query);
    if (!page) return reply(net::error_response(400, "invalid_request", "limit must be 1 to 1000", req->request_id));
    boost::json::array items;
    std::string last;
    bool more = false;
    for (const auto& a : d.catalog->all_usable(*d.capabilities, caller->tenant, caller.tier)) {
      if (!page->cursor.empty() && a->name <= page->cursor) continue;
      if (items.size() == page->limit) {
        more = true;
        break;
      }
      items.push_back(agent_json(d, *a));
      last = a->name;
    }
    boost::json::object o{{"agents", std::move(items)}};
    o["nextCursor"] = more ? boost::json::value(last) : nullptr;
    reply(net::Response::json(200, core::json_text(o)));
  }));

  router.add("GET", "/v1/agents/{name}", d.chain->route(Policy::tenant_only(), [d](auto req, Caller caller, net::Responder reply) {
    auto a = find(d, caller, req->param("name"));
    if (!a) return reply(no_such_agent(*req));
    reply(net::Response::json(200, core::json_text(agent_json(d, *a))));
  }));

  const Policy invoke = Policy::tenant_only({auth::roles::kAgentInvoke, auth::roles::kMachineInvoke});
  auto inv = std::make_shared<InvokeDeps>();
  inv->catalog = d.catalog;
  inv->capabilities = d.capabilities;
  inv->invocations = d.invocations;
  inv->sessions = d.sessions;
  inv->ports = d.ports;
  inv->sse_heartbeat = d.sse_heartbeat;
  std::shared_ptr<const InvokeDeps> shared = std::move(inv);
  router.add("POST", "/v1/agents/{name}/invoke",
             d.chain->route(invoke, [shared](auto req, Caller caller, net::Responder reply) {
               serve_invoke(shared, std::move(req), std::move(caller), std::move(reply));
             }));
}

}  // namespace pc::api
