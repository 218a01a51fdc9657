// What the Admin REST API's handlers need (docs/admin-api.md). Handlers stay thin: parse,
// check who may act on which tenant, call a service or the store on the work pool, render.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "api/chain.h"
#include "core/config.h"

namespace pc::core {
class WorkPool;
}
namespace pc::store {
class Store;
}
namespace pc::tenancy {
class TenantService;
class Capabilities;
}  // namespace pc::tenancy
namespace pc::agents {
class Registry;
}
namespace pc::vault {
class SecretsVault;
}

namespace pc::api {

struct AdminDeps {
  const Chain* chain = nullptr;
  core::WorkPool* pool = nullptr;
  store::Store* store = nullptr;
  tenancy::TenantService* tenants = nullptr;
  tenancy::Capabilities* capabilities = nullptr;
  agents::Registry* registry = nullptr;
  vault::SecretsVault* vault = nullptr;                 // nullptr: the secrets routes answer 503
  std::function<core::Config()> config;                 // the current configuration (tiers, retention)
  std::function<void()> capabilities_changed;           // republish the capability snapshot now
  std::function<std::string()> rotate_signing_key;      // `keys rotate` in-process; returns the new kid
  // a committed change (its audit action and tenant), signalled to the
  // other gateway nodes (docs/cluster.md). Empty = single node.
  std::function<void(const std::string& action, const std::string& tenant)> changed;
};

// The change of one admin request with its audit event in the change's own transaction
// (audit::change_audit; store::AuditedChange spelled out: api does not include store/). Empty
// when `d.store` is null (unit tests).
using AuditedChange = std::function<void(const std::string& tenant_id, const std::string& action,
                                         const std::string& resource, const std::function<void()>& change)>;
AuditedChange change_audit(const AdminDeps& d, const net::Request& req, const Caller& caller);

// Who may act on the tenant named in a path. Platform principals with one of the platform
// roles pass; with `self_service`, so does a SelfService.Admin whose token's tenant is that
// tenant. A tenant principal naming another tenant is a tenant-access violation (403, counted,
// audited); anyone else gets a plain 403. nullopt = allowed.
std::optional<net::Response> tenant_gate(const net::Request& req, const Caller& caller, std::string_view path_tenant,
                                         bool platform_admin_only, bool self_service);

// A route under /v1/tenants/{id}, declared with the tenant-in-path stage of `rule`: any
// authenticated principal reaches it, so a tenant principal naming another tenant is always a
// violation (not only on self-service routes); `fn(req, caller, reply, tenant)` runs only for
// callers the stage lets through.
template <class Fn>
net::Handler gated(const AdminDeps& d, PathTenant rule, Fn fn) {
  return d.chain->route(Policy::tenant_in_path(rule), [fn](std::shared_ptr<net::Request> req, Caller caller, net::Responder reply) {
    std::string tenant(req->param("id"));
    fn(std::move(req), std::move(caller), std::move(reply), std::move(tenant));
  });
}

}  // namespace pc::api
