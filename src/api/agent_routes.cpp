#include "api/agent_routes.h"

#include <chrono>

#include "agents/invocation_log.h"
#include "agents/jobs.h"          // issue 9: jobs
#include "api/job_routes.h"       // issue 9: jobs
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

// ---- issue 9: jobs — the smallest async call site (helper "invoke" owns the full body
// contract: sessions, the runtime body, idempotent replay; the lead reconciles the two).
// Whether the body asks for mode "async": a cheap scan first, so sync calls are not parsed here.
bool wants_async(const std::string& body, boost::json::object& parsed) {
  if (body.find("async") == std::string::npos) return false;
  boost::json::error_code ec;
  boost::json::parse_options limits;
  limits.max_depth = 64;
  boost::json::value v = boost::json::parse(body, ec, {}, limits);
  if (ec || !v.is_object()) return false;
  parsed = std::move(v.as_object());
  auto m = parsed.find("mode");
  return m != parsed.end() && m->value().is_string() && m->value().as_string() == "async";
}

// Idempotency-Key: 1 to 255 printable ASCII characters.
bool valid_idempotency_key(std::string_view k) {
  if (k.empty() || k.size() > 255) return false;
  for (char c : k)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

void accept_async(const AgentRoutesDeps& d, const std::shared_ptr<net::Request>& req, const Caller& caller,
                  const agents::AgentEntry& a, const boost::json::object& body, net::Responder reply) {
  agents::JobSpec spec;
  if (const std::string* key = req->header("Idempotency-Key")) {
    if (!valid_idempotency_key(*key))
      return reply(net::error_response(400, "invalid_request", "Idempotency-Key must be 1 to 255 printable ASCII characters",
                                       req->request_id));
    spec.idempotency_key = *key;
  }
  if (auto w = body.find("webhookId"); w != body.end()) {
    if (!w->value().is_string() || w->value().as_string().empty() || w->value().as_string().size() > 128)
      return reply(net::error_response(400, "invalid_request", "webhookId must be a non-empty string", req->request_id));
    spec.webhook_id = std::string(w->value().as_string());
  }
  spec.tenant = caller->tenant;
  spec.principal = caller->subject;
  spec.client = caller->client;
  if (!caller->actor.empty()) spec.actor_chain.push_back(caller->actor);
  for (const auto& p : caller->prior_actors) spec.actor_chain.push_back(p);
  spec.scopes = caller->scopes;
  spec.tier = caller.tier;
  spec.agent = a.name;
  spec.agent_version = a.version;
  spec.host = a.host;
  spec.port = a.port;
  spec.body = req->body;
  spec.request_id = req->request_id;
  d.jobs->accept(std::move(spec), [reply, rid = req->request_id](std::variant<agents::AcceptedJob, agents::JobError> r) mutable {
    if (auto* ok = std::get_if<agents::AcceptedJob>(&r)) return reply(job_accepted_response(ok->job_id));
    const auto& e = std::get<agents::JobError>(r);
    reply(net::error_response(e.status, e.code, e.message, rid));
  });
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
    // issue 9: jobs
    if (boost::json::object body; d.jobs && wants_async(req->body, body))
      return accept_async(d, req, caller, *a, body, std::move(reply));
    net::ForwardTo to;
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
