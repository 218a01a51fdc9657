#include "api/blocking.h"

#include "api/json_body.h"
#include "core/log.h"
#include "core/work_pool.h"
#include "agents/registry.h"
#include "store/store.h"
#include "store/tenant_store.h"
#include "tenancy/tenant_service.h"

namespace pc::api {

namespace {

// A service's refusal (TenancyError, RegistryError: kinds invalid, not_found, conflict) → 400, 404, 409.
template <class Error>
net::Response refusal(const Error& e, std::string_view request_id) {
  using K = typename Error::Kind;
  if (e.kind() == K::not_found) return net::error_response(404, "not_found", e.what(), request_id);
  if (e.kind() == K::conflict) return net::error_response(409, "conflict", e.what(), request_id);
  return net::error_response(400, "invalid_request", e.what(), request_id);
}

}  // namespace

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
      reply(refusal(e, id));
    } catch (const std::invalid_argument& e) {
      reply(net::error_response(400, "invalid_request", e.what(), id));
    } catch (const tenancy::TenancyError& e) {
      reply(refusal(e, id));
    } catch (const store::StoreError& e) {
      log::error("store error", {{"request_id", id}, {"route", req->route}, {"error", e.what()}});
      if (e.commit_outcome_unknown())
        reply(net::error_response(503, "store_unavailable",
                                  "the store went away while the change was committed; the change may have been "
                                  "applied: check before retrying",
                                  id));
      else if (e.kind() == store::StoreError::Kind::busy)
        reply(net::error_response(503, "overloaded", "the store is busy; try again later", id));
      else if (e.kind() == store::StoreError::Kind::full)  // out of space: nothing was changed
        reply(net::error_response(503, "storage_full", "the store is out of space; the change was not made", id));
      else if (e.kind() == store::StoreError::Kind::gone)  // a write into a deleted tenant: it no longer exists
        reply(net::error_response(404, "not_found", "the tenant is deleted", id));
      else if (e.kind() == store::StoreError::Kind::duplicate ||
               e.kind() == store::StoreError::Kind::conflict)  // lost a race with a concurrent change
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
