#include "api/system_routes.h"

#include "core/metrics.h"
#include "core/work_pool.h"

namespace pc::api {

bool is_loopback(std::string_view ip) {
  return ip.starts_with("127.") || ip == "::1" || ip.starts_with("::ffff:127.");
}

void add_system_routes(net::Router& router, SystemDeps deps) {
  router.add("GET", "/healthz", [](std::shared_ptr<net::Request>, net::Responder reply) {
    reply(net::Response::json(200, R"({"status":"ok"})"));
  });

  router.add("GET", "/readyz", [deps](std::shared_ptr<net::Request> req, net::Responder reply) {
    auto job = [deps, req, reply]() mutable {
      bool ok = false;
      try {
        ok = deps.store_ping();
      } catch (...) {
      }
      if (ok)
        reply(net::Response::json(200, R"({"status":"ready","checks":{"store":"ok"}})"));
      else
        reply(net::error_response(503, "not_ready", "the store is not reachable", req->request_id));
    };
    if (!deps.pool->try_submit(job))
      reply(net::error_response(503, "overloaded", "the gateway is busy; try again later", req->request_id));
  });

  router.add("GET", "/metrics", [deps](std::shared_ptr<net::Request> req, net::Responder reply) {
    if (!deps.metrics_public() && !is_loopback(req->remote_address)) {
      reply(net::error_response(403, "forbidden", "metrics are served to loopback clients only", req->request_id));
      return;
    }
    reply(net::Response::text(200, core::metrics().render(), "text/plain; version=0.0.4; charset=utf-8"));
  });
}

}  // namespace pc::api
