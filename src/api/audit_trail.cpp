#include "api/audit_trail.h"

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "auth/principal.h"
#include "core/log.h"
#include "core/metrics.h"

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

core::Counter& refusals_dropped() {
  static core::Counter& c =
      core::metrics()
          .counter("portcullis_audit_refusals_dropped_total",
                   "Refusal audit events not queued: the refusals' share of the audit queue was used up", {})
          .labels({});
  return c;
}

net::Response unavailable(const net::Request& req) {
  return net::error_response(503, "audit_unavailable",
                             "the audit log cannot record this request right now; try again later", req.request_id);
}

// the handler succeeded, so its change may have committed (with its own
// change event) before the call's event failed — measured with PostgreSQL restarted under load
// (cluster_nodes.test.mjs): a client answered this 503 can exist. Say so, so a client checks
// before it retries instead of creating a second one.
net::Response unavailable_after_change(const net::Request& req) {
  return net::error_response(503, "audit_unavailable",
                             "the audit log could not record this request; the change may have been applied: check "
                             "before retrying",
                             req.request_id);
}

// What a change is answered when its call's event could not be recorded. A success cannot be
// acknowledged unaudited; a refusal is answered 503 too (the call is not on record). A handler's
// own 5xx is kept: it is already an error, and it may say more than this layer knows (the store
// lost its connection during the commit: "the change may have been applied").
net::Response unrecorded(const net::Request& req, net::Response&& handler_answer) {
  if (handler_answer.status < 300) return unavailable_after_change(req);
  if (handler_answer.status >= 500) return std::move(handler_answer);
  return unavailable(req);
}

}  // namespace

void AuditTrail::answer(const std::shared_ptr<net::Request>& req, const std::shared_ptr<const auth::Principal>& who,
                        net::Response&& r, net::Responder reply) const {
  if (!log_) return reply(std::move(r));
  if (!r.audit_action.empty() && !log_->record(security_event(*req, who.get(), r.audit_action, r.status)))
    log::warn("audit queue full; security event dropped", {{"request_id", req->request_id}, {"action", r.audit_action}});
  audit::Event e = call_event(*req, who.get(), r.status);
  // A proxied call is recorded when it is forwarded; what the upstream answers is not known
  // here, and the forward itself is not a change this gateway must not acknowledge early.
  if (!changes_state(req->method) || r.forward) {
    if (!log_->record(std::move(e))) return reply(unavailable(*req));
    return reply(std::move(r));
  }
  auto held = std::make_shared<net::Response>(std::move(r));
  const bool queued = log_->record(std::move(e), [req, reply, held](bool ok) mutable {
    if (ok) return reply(std::move(*held));
    log::error("audit write failed; answering 503 to a change that may have been applied",
               {{"request_id", req->request_id}, {"route", req->route}});
    reply(unrecorded(*req, std::move(*held)));
  });
  if (!queued) reply(unrecorded(*req, std::move(*held)));
}

net::Responder AuditTrail::record(std::shared_ptr<net::Request> req, std::shared_ptr<const auth::Principal> who,
                                  net::Responder reply) const {
  if (!log_) return reply;
  return net::Responder([this, req = std::move(req), who = std::move(who), reply](net::Response&& r) mutable {
    answer(req, who, std::move(r), std::move(reply));
  });
}

bool AuditTrail::queue_refusal(audit::Event&& e) const {
  // Refusals are what a flood is made of: they get their own bounded share of the queue and are
  // dropped beyond it, so served calls (which answer 503 when their event cannot be queued)
  // always find room.
  if (refusals_queued_->fetch_add(1, std::memory_order_acq_rel) >= refusal_budget_ ||
      !log_->record(std::move(e), [n = refusals_queued_](bool) { n->fetch_sub(1, std::memory_order_acq_rel); })) {
    refusals_queued_->fetch_sub(1, std::memory_order_acq_rel);
    refusals_dropped().inc();
    return false;
  }
  return true;
}

bool AuditTrail::refusal(const net::Request& req, const auth::Principal* who, const net::Response& answer) const {
  if (!log_) return false;
  std::string action = !answer.audit_action.empty() ? answer.audit_action
                       : answer.status == 401   ? "security.authentication_failed"
                                                : "security.access_denied";
  return queue_refusal(security_event(req, who, std::move(action), answer.status));
}

bool AuditTrail::refusal_summary(const Summary& s) const {
  if (!log_) return false;
  audit::Event e;
  e.tenant_id = s.tenant;
  e.actor = s.actor;
  e.action = s.action;
  e.outcome = "denied";
  e.request_id = s.first_request_id;
  e.details = boost::json::serialize(boost::json::object{{"summary", true},
                                                         {"count", s.count},
                                                         {"reason", s.reason},
                                                         {"route", s.route},
                                                         {"status", s.status},
                                                         {"remoteNetwork", s.network},
                                                         {"windowSeconds", s.window.count() / 1000.0}});
  return queue_refusal(std::move(e));
}

namespace {

class AuditStage final : public Stage {
 public:
  explicit AuditStage(const AuditTrail& trail) : trail_(trail) {}
  std::string_view name() const override { return "audit"; }
  Verdict on_request(Context&) const override { return Verdict::proceed; }
  bool sees_response() const override { return true; }
  void on_response(const std::shared_ptr<net::Request>& req, const std::shared_ptr<const auth::Principal>& who,
                   net::Response&& answer, net::Responder next) const override {
    trail_.answer(req, who, std::move(answer), std::move(next));
  }

 private:
  const AuditTrail& trail_;
};

}  // namespace

std::unique_ptr<const Stage> audit_stage(const AuditTrail& trail) { return std::make_unique<AuditStage>(trail); }

}  // namespace pc::api
