#include "api/agent_routes.h"

#include <chrono>

#include "agents/invocation_log.h"
#include "core/clock.h"

#include <boost/json.hpp>

#include "core/json_text.h"

#include "api/paging.h"

namespace pc::api {
namespace {

boost::json::object agent_json(const agents::AgentEntry& a) {
  return {{"name", a.name},
          {"description", a.description},
          {"tierMinimum", a.tier_minimum},
          {"protocol", a.protocol},
          {"version", a.version}};
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
      items.push_back(agent_json(*a));
      last = a->name;
    }
    boost::json::object o{{"agents", std::move(items)}};
    o["nextCursor"] = more ? boost::json::value(last) : nullptr;
    reply(net::Response::json(200, core::json_text(o)));
  }));

  router.add("GET", "/v1/agents/{name}", d.chain->route(Policy::tenant_only(), [d](auto req, Caller caller, net::Responder reply) {
    auto a = find(d, caller, req->param("name"));
    if (!a) return reply(no_such_agent(*req));
    reply(net::Response::json(200, core::json_text(agent_json(*a))));
  }));

  const Policy invoke = Policy::tenant_only({auth::roles::kAgentInvoke, auth::roles::kMachineInvoke});
  router.add("POST", "/v1/agents/{name}/invoke", d.chain->route(invoke, [d](auto req, Caller caller, net::Responder reply) {
    auto a = find(d, caller, req->param("name"));
    if (!a) return reply(no_such_agent(*req));
    net::ForwardTo to;
    // issue 9: identity (minimal call site; the invoke route proper is the invoke helper's):
    // the agent learns who calls from a token we sign, never from the caller's own credentials.
    if (d.identity) {
      if (auto why = auth::agent_call_refusal(*caller, a->name, d.identity->max_agent_depth()))
        return reply(net::error_response(403, "agent_call_refused",
                                         *why == "loop" ? "agent " + a->name + " is already on this call's delegation chain"
                                                        : "the chain of agents calling agents is too deep",
                                         req->request_id));
      try {
        to.set_headers.push_back({"X-Portcullis-Identity", d.identity->token_for(*caller, caller.tier, a->name, "")});
      } catch (const std::exception&) {
        return reply(net::error_response(503, "not_ready", "the gateway cannot sign identities yet", req->request_id));
      }
    }
    to.host = a->host;
    to.port = a->port;
    to.target = "/invocations";
    to.upstream_name = "agent:" + a->name;
    if (d.invocations) {
      // Recorded when the exchange ends: metadata plus the input, sealed by the log's writer.
      agents::Invocation inv;
      inv.invocation_id = agents::new_invocation_id();
      inv.tenant_id = caller->tenant;
      inv.agent = a->name;
      inv.agent_version = a->version;
      inv.principal = caller->subject;
      inv.created_at = core::rfc3339_now();
      // The body is taken when the exchange is over (the proxy has sent it by then), not copied
      // on the way in.
      to.on_complete = [log = d.invocations, inv = std::move(inv), req, start = std::chrono::steady_clock::now()](int status) mutable {
        inv.input = std::move(req->body);
        inv.http_status = status;
        inv.latency_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
        log->record(std::move(inv));
      };
    }
    reply(net::Response::proxy(std::move(to)));
  }));
}

}  // namespace pc::api
