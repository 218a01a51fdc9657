#include "api/audit_trail.h"

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "auth/principal.h"
#include "core/log.h"

namespace pc::api {
namespace {

bool changes_state(std::string_view method) { return method != "GET" && method != "HEAD"; }

// The tenant an event belongs to: the tenant acted upon. A platform principal acting on a tenant
// (/v1/tenants/{id}/…) is recorded in that tenant's log, so the tenant's audit search and export
// show it; the actor's own tenant goes into the details. A tenant principal's events stay in its
// own tenant even when the path names another (a probe of tenant B is not B's to read).
std::string event_tenant(const net::Request& req, const auth::Principal* who) {
  if (!who) return std::string(auth::kPlatformTenant);
  if (who->is_platform() && req.route.starts_with("/v1/tenants/{id}")) {
    if (auto id = req.param("id"); !id.empty()) return std::string(id);
  }
  return who->tenant;
}

audit::Event call_event(const net::Request& req, const auth::Principal* who, int status) {
  audit::Event e;
  e.tenant_id = event_tenant(req, who);
  e.actor = who ? who->subject : "anonymous";
  e.action = "http." + req.method + " " + std::string(req.route);
  e.resource = req.path;
  e.outcome = std::to_string(status);
  e.request_id = req.request_id;
  boost::json::object details;
  if (who && !who->actor.empty()) details["onBehalfOf"] = who->actor;
  if (who && e.tenant_id != who->tenant) details["actorTenant"] = who->tenant;
  if (!details.empty()) e.details = boost::json::serialize(details);
  return e;
}

audit::Event security_event(const net::Request& req, const auth::Principal* who, std::string action, int status) {
  audit::Event e = call_event(req, who, status);
  e.action = std::move(action);
  e.outcome = "denied";
  boost::json::object details{{"route", req.method + " " + std::string(req.route)},
                              {"status", status},
                              {"remoteAddress", req.remote_address}};
  if (who && e.tenant_id != who->tenant) details["actorTenant"] = who->tenant;
  e.details = boost::json::serialize(details);
  return e;
}

net::Response unavailable(const net::Request& req) {
  return net::error_response(503, "audit_unavailable",
                             "the audit log cannot record this request right now; try again later", req.request_id);
}

}  // namespace

net::Responder AuditTrail::record(std::shared_ptr<net::Request> req, std::shared_ptr<const auth::Principal> who,
                                  net::Responder reply) const {
  if (!log_) return reply;
  audit::AuditLog* log = log_;
  return net::Responder([log, req = std::move(req), who = std::move(who), reply](net::Response&& r) mutable {
    if (!r.audit_action.empty() && !log->record(security_event(*req, who.get(), r.audit_action, r.status)))
      log::warn("audit queue full; security event dropped", {{"request_id", req->request_id}, {"action", r.audit_action}});
    audit::Event e = call_event(*req, who.get(), r.status);
    // A proxied call is recorded when it is forwarded; what the upstream answers is not known
    // here, and the forward itself is not a change this gateway must not acknowledge early.
    if (!changes_state(req->method) || r.forward) {
      if (!log->record(std::move(e))) return reply(unavailable(*req));
      return reply(std::move(r));
    }
    auto answer = std::make_shared<net::Response>(std::move(r));
    const bool queued = log->record(std::move(e), [req, reply, answer](bool ok) mutable {
      if (ok) return reply(std::move(*answer));
      log::error("audit write failed; answering 503 to a change that may have been applied",
                 {{"request_id", req->request_id}, {"route", req->route}});
      reply(unavailable(*req));
    });
    if (!queued) reply(unavailable(*req));
  });
}

void AuditTrail::refusal(const net::Request& req, const auth::Principal* who, const net::Response& answer) const {
  if (!log_) return;
  const char* action = answer.status == 401 ? "security.authentication_failed" : "security.access_denied";
  // Not waited on and dropped when the queue is full: refusals are what a flood is made of, and
  // a flood must not crowd out the events of served requests.
  log_->record(security_event(req, who, action, answer.status));
}

}  // namespace pc::api
