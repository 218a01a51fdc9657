#include "api/agent_routes.h"

#include "core/json_text.h"

#include "api/invoke_route.h"
#include "api/paging.h"

namespace pc::api {
namespace {

// One agent as JSON text, written by hand: GET /v1/agents runs on every poll of an agent list,
// and building boost::json objects to serialize them cost more than the answer itself.
void append_agent_json(std::string& out, const AgentRoutesDeps& d, const agents::AgentEntry& a) {
  auto field = [&out](std::string_view key, std::string_view value, bool first = false) {
    out += first ? "{\"" : ",\"";
    out += key;
    out += "\":";
    core::append_json_string(out, value);
  };
  field("name", a.name, true);
  field("description", a.description);
  field("tierMinimum", a.tier_minimum);
  field("protocol", a.protocol);
  field("version", a.version);
  // Whether the runtime answers its pings (a down runtime is refused with 503, not waited on).
  if (d.ports.health_status) field("status", d.ports.health_status(a));
  out += '}';
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
    std::string body = "{\"agents\":[";
    std::size_t listed = 0;
    const auto usable = d.catalog->all_usable(*d.capabilities, caller->tenant, caller.tier);
    std::string_view last;  // a name in `usable`
    bool more = false;
    for (const auto& a : usable) {
      if (!page->cursor.empty() && a->name <= page->cursor) continue;
      if (listed == page->limit) {
        more = true;
        break;
      }
      if (listed++ > 0) body += ',';
      append_agent_json(body, d, *a);
      last = a->name;
    }
    body += "],\"nextCursor\":";
    if (more)
      core::append_json_string(body, last);
    else
      body += "null";
    body += '}';
    reply(net::Response::json(200, std::move(body)));
  }));

  router.add("GET", "/v1/agents/{name}", d.chain->route(Policy::tenant_only(), [d](auto req, Caller caller, net::Responder reply) {
    auto a = find(d, caller, req->param("name"));
    if (!a) return reply(no_such_agent(*req));
    std::string body;
    append_agent_json(body, d, *a);
    reply(net::Response::json(200, std::move(body)));
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
