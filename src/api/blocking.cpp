#include "api/blocking.h"

#include "api/json_body.h"
#include "core/log.h"
#include "core/work_pool.h"
#include "agents/registry.h"
#include "store/store.h"
#include "store/tenant_store.h"
#include "tenancy/tenant_service.h"

namespace pc::api {

net::Response violation_response(const net::Request& req, std::string_view message) {
  log::warn("tenant access violation", {{"request_id", req.request_id}, {"route", req.route}, {"detail", message}});
  auto r = net::error_response(403, "forbidden", "tenant access violation: " + std::string(message), req.request_id);
  r.audit_action = "security.tenant_access_violation";
  return r;
}

void run_blocking(core::WorkPool& pool, std::shared_ptr<net::Request> req, net::Responder reply,
                  std::function<net::Response()> job) {
  auto task = [req, reply, job = std::move(job)]() mutable {
    const std::string& id = req->request_id;
    try {
      reply(job());
    } catch (const BadField& e) {
      reply(net::error_response(400, "invalid_request", e.what(), id));
    } catch (const store::TenantAccessViolation& e) {
      reply(violation_response(*req, e.what()));
    } catch (const agents::RegistryError& e) {
      using K = agents::RegistryError::Kind;
      const int status = e.kind() == K::not_found ? 404 : e.kind() == K::conflict ? 409 : 400;
      const char* code = e.kind() == K::not_found ? "not_found" : e.kind() == K::conflict ? "conflict" : "invalid_request";
      reply(net::error_response(status, code, e.what(), id));
    } catch (const std::invalid_argument& e) {
      reply(net::error_response(400, "invalid_request", e.what(), id));
    } catch (const tenancy::TenancyError& e) {
      using K = tenancy::TenancyError::Kind;
      const int status = e.kind() == K::not_found ? 404 : e.kind() == K::conflict ? 409 : 400;
      const char* code = e.kind() == K::not_found ? "not_found" : e.kind() == K::conflict ? "conflict" : "invalid_request";
      reply(net::error_response(status, code, e.what(), id));
    } catch (const store::StoreError& e) {
      log::error("store error", {{"request_id", id}, {"route", req->route}, {"error", e.what()}});
      if (e.kind() == store::StoreError::Kind::busy)
        reply(net::error_response(503, "overloaded", "the store is busy; try again later", id));
      else if (e.kind() == store::StoreError::Kind::duplicate)  // lost a race with a concurrent change
        reply(net::error_response(409, "conflict", "a concurrent change conflicted with this one; try again", id));
      else
        reply(net::error_response(500, "internal", "internal error", id));
    } catch (const std::exception& e) {
      log::error("handler failed", {{"request_id", id}, {"route", req->route}, {"error", e.what()}});
      reply(net::error_response(500, "internal", "internal error", id));
    }
  };
  if (!pool.try_submit(std::move(task)))
    reply(net::error_response(503, "overloaded", "the gateway is busy; try again later", req->request_id));
}

}  // namespace pc::api
