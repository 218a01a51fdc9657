#include "api/a2a_push_route.h"

#include "a2a/push_relay.h"
#include "agents/webhooks.h"
#include "api/blocking.h"
#include "api/refusals.h"
#include "core/log.h"
#include "net/http.h"

namespace pc::api {
namespace {

constexpr std::string_view kTokenHeader = "X-A2A-Notification-Token";

// An unknown relay id and a wrong token answer alike (401). Sampled by the refusal recorder:
// anyone can send these, so one warn line per request would let a flood fill the log.
net::Response unauthorized(const A2aPushRouteDeps& d, const net::Request& req, std::string_view relay_id) {
  auto answer = net::error_response(401, "unauthorized", "unknown push relay or wrong notification token",
                                    req.request_id);
  const std::string detail = "relay " + std::string(relay_id.substr(0, 64));
  if (d.refusals)
    d.refusals->refused(req, nullptr, answer, "a2a_push_relay", detail);
  else
    log::warn("a2a push relay: unknown relay or wrong token", {{"request_id", req.request_id}, {"detail", detail}});
  return answer;
}

}  // namespace

void add_a2a_push_route(net::Router& router, A2aPushRouteDeps d) {
  router.add("POST", "/a2a-push/{relayId}", [d](std::shared_ptr<net::Request> req, net::Responder reply) {
    if (!d.relay || !d.pool)
      return reply(net::error_response(503, "unavailable", "push notifications are not available", req->request_id));
    const std::string relay_id(req->param("relayId"));
    if (!a2a::well_formed_relay_id(relay_id)) {  // cannot name a config: no pool, no store
      a2a::count_relay_refused();
      return reply(unauthorized(d, *req, relay_id));
    }
    if (req->body.size() > agents::kMaxWebhookPayloadBytes) {
      log::warn("a2a push relay: notification too large",
                {{"request_id", req->request_id}, {"bytes", req->body.size()}});
      return reply(net::error_response(413, "payload_too_large", "a push notification is at most 1 MiB",
                                       req->request_id));
    }
    const std::string* token = req->header(kTokenHeader);
    run_blocking(*d.pool, req, std::move(reply),
                 [d, req, relay_id,
                  token = token ? *token : std::string()]() -> net::Response {
                   using Outcome = a2a::PushRelay::RelayOutcome;
                   const auto r = d.relay->relay(relay_id, token, req->body);
                   switch (r.outcome) {
                     case Outcome::queued:
                       log::info("a2a push relayed", {{"request_id", req->request_id}, {"tenant", r.tenant},
                                                       {"task", r.task_id}, {"delivery", r.delivery_id}});
                       return net::Response::json(202, "{\"status\":\"queued\"}");
                     case Outcome::unauthorized:
                       return unauthorized(d, *req, relay_id);
                     case Outcome::wrong_task:
                       log::warn("a2a push relay: notification about another task",
                                 {{"request_id", req->request_id}, {"relay", relay_id}, {"tenant", r.tenant},
                                  {"task", r.task_id}});
                       return net::error_response(403, "forbidden",
                                                  "this relay carries notifications of one task only",
                                                  req->request_id);
                     case Outcome::bad_body:
                       log::warn("a2a push relay: not a notification", {{"request_id", req->request_id},
                                                                          {"relay", relay_id}});
                       return net::error_response(400, "invalid_request",
                                                  "a push notification is one JSON object", req->request_id);
                   }
                   return net::error_response(500, "internal_error", "internal error", req->request_id);
                 });
  });
}

}  // namespace pc::api
