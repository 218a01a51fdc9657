#include "api/webhook_routes.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>

#include "agents/webhooks.h"
#include "api/blocking.h"
#include "api/json_body.h"
#include "api/paging.h"
#include "api/render.h"
#include "core/json_text.h"

namespace pc::api {
namespace {

using auth::roles::kSelfServiceAdmin;

boost::json::object webhook_json(const agents::WebhookInfo& w) {
  return {{"webhookId", w.webhook_id},
          {"url", w.url},
          {"description", w.description},
          {"createdAt", w.created_at},
          {"createdBy", w.created_by}};
}

boost::json::object delivery_json(const agents::DeliveryInfo& d) {
  boost::json::object o{{"deliveryId", d.delivery_id}, {"webhookId", d.webhook_id}, {"eventType", d.event_type},
                        {"status", d.status},          {"attempts", d.attempts},     {"createdAt", d.created_at},
                        {"updatedAt", d.updated_at}};
  o["lastStatus"] = d.last_status ? boost::json::value(d.last_status) : boost::json::value(nullptr);
  o["lastError"] = d.last_error.empty() ? boost::json::value(nullptr) : boost::json::value(d.last_error);
  return o;
}

// Unknown and foreign ids answer alike; a foreign one is also a security event.
net::Response not_found(const net::Request& req, const agents::WebhookNotFound& e) {
  auto r = net::error_response(404, "not_found", e.what(), req.request_id);
  if (e.foreign()) r.audit_action = "security.tenant_access_violation";
  return r;
}

// The handler's blocking part, with WebhookNotFound answered as 404 (run_blocking maps the rest).
template <class Fn>
void blocking(const WebhookRoutesDeps& d, std::shared_ptr<net::Request> req, net::Responder reply, Fn fn) {
  run_blocking(*d.pool, req, std::move(reply), [req, fn = std::move(fn)]() mutable -> net::Response {
    try {
      return fn();
    } catch (const agents::WebhookNotFound& e) {
      return not_found(*req, e);
    }
  });
}

// A page of at most `limit` of `rows` (fetched with limit + 1) and the cursor of the next one.
template <class Row, class Key, class Render>
net::Response page(std::string_view name, const std::vector<Row>& rows, std::size_t limit, Key key, Render render) {
  boost::json::array items;
  std::string next;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) items.push_back(render(rows[i]));
  if (rows.size() > limit) next = key(rows[limit - 1]);
  return page_response(name, std::move(items), next);
}

}  // namespace

void add_webhook_routes(net::Router& router, WebhookRoutesDeps d) {
  const Policy admin = Policy::tenant_only({kSelfServiceAdmin});

  router.add("GET", "/v1/webhooks", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    auto p = page_of(req->query);
    if (!p) return reply(bad_request(*req, "limit must be 1 to 1000"));
    blocking(d, req, reply, [d, caller, p = *p] {
      auto rows = d.webhooks->list(caller->tenant, p.cursor, p.limit + 1);
      return page("webhooks", rows, p.limit, [](const auto& w) { return w.webhook_id; }, webhook_json);
    });
  }));

  router.add("POST", "/v1/webhooks", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    auto body = json_object_body(*req, {"url", "description"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    std::optional<std::string> url, description;
    try {
      const auto& o = std::get<boost::json::object>(body);
      url = string_field(o, "url");
      description = string_field(o, "description");
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    if (!url || url->empty()) return reply(bad_request(*req, "url is required"));
    blocking(d, req, reply, [d, caller, url = std::move(*url), description = description.value_or("")]() mutable {
      auto created = d.webhooks->create(caller->tenant, url, description, caller->subject);
      boost::json::object o = webhook_json(created.info);
      o["secret"] = created.secret;  // shown once: only its sealed form is kept
      OPENSSL_cleanse(created.secret.data(), created.secret.size());
      auto r = json_response(201, o);
      r.headers.push_back({"Cache-Control", "no-store"});
      r.headers.push_back({"Location", "/v1/webhooks/" + created.info.webhook_id});
      return r;
    });
  }));

  router.add("GET", "/v1/webhooks/{id}", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    blocking(d, req, reply, [d, caller, id = std::string(req->param("id"))] {
      return json_response(200, webhook_json(d.webhooks->get(caller->tenant, id)));
    });
  }));

  router.add("DELETE", "/v1/webhooks/{id}", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    blocking(d, req, reply, [d, caller, id = std::string(req->param("id"))] {
      d.webhooks->remove(caller->tenant, id);
      return net::Response::text(204, "");
    });
  }));

  router.add("POST", "/v1/webhooks/{id}/ping", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    blocking(d, req, reply, [d, caller, id = std::string(req->param("id"))] {
      const std::string delivery = d.webhooks->ping(caller->tenant, id);
      return json_response(202, {{"deliveryId", delivery}, {"status", "pending"}});
    });
  }));

  router.add("GET", "/v1/webhooks/{id}/deliveries/{deliveryId}",
             d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
               blocking(d, req, reply,
                        [d, caller, req, id = std::string(req->param("id")),
                         delivery = std::string(req->param("deliveryId"))]() -> net::Response {
                          d.webhooks->get(caller->tenant, id);  // the webhook first: 404 (and a violation) if not ours
                          auto info = d.webhooks->delivery(caller->tenant, delivery);
                          if (!info || info->webhook_id != id)
                            return net::error_response(404, "not_found", "no delivery of that id", req->request_id);
                          return json_response(200, delivery_json(*info));
                        });
             }));

  router.add("GET", "/v1/webhooks/{id}/dead-letters",
             d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
               auto p = page_of(req->query);
               if (!p) return reply(bad_request(*req, "limit must be 1 to 1000"));
               blocking(d, req, reply, [d, caller, p = *p, id = std::string(req->param("id"))] {
                 auto rows = d.webhooks->dead_letters(caller->tenant, id, p.cursor, p.limit + 1);
                 return page("deadLetters", rows, p.limit, [](const auto& x) { return x.delivery_id; }, delivery_json);
               });
             }));

  router.add("POST", "/v1/webhooks/{id}/dead-letters/{deliveryId}/redeliver",
             d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
               blocking(d, req, reply,
                        [d, caller, req, id = std::string(req->param("id")),
                         delivery = std::string(req->param("deliveryId"))]() -> net::Response {
                          if (!d.webhooks->redeliver(caller->tenant, id, delivery))
                            return net::error_response(409, "conflict", "the delivery is not a dead letter",
                                                       req->request_id);
                          return json_response(202, {{"deliveryId", delivery}, {"status", "pending"}});
                        });
             }));
}

}  // namespace pc::api
