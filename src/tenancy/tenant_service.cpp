#include "tenancy/tenant_service.h"

#include <algorithm>
#include <functional>

#include "crypto/random.h"
#include "crypto/secret_hash.h"
#include "store/run_audited.h"
#include "store/tenant_store.h"
#include "tenancy/tenant_id.h"

namespace pc::tenancy {
namespace {

using Kind = TenancyError::Kind;

// Roles a tenant's machine client may hold; platform roles belong to platform clients only.
constexpr std::string_view kTenantRoles[] = {"Agent.Developer", "Agent.Invoke", "SelfService.Admin", "Machine.Invoke"};
constexpr std::string_view kPlatformRoles[] = {"Platform.Admin", "Platform.Operator"};
constexpr std::string_view kGrantTypes[] = {"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"};

template <std::size_t N>
bool one_of(const std::string_view (&set)[N], std::string_view x) {
  return std::find(std::begin(set), std::end(set), x) != std::end(set);
}

// RFC 6749 §3.3 scope-token characters.
bool valid_scope(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E); });
}

}  // namespace

TenantService::TenantService(store::Store& store, TenantDirectory& directory,
                             std::function<bool(const std::string&)> tier_exists)
    : store_(store), directory_(directory), tier_exists_(std::move(tier_exists)) {}

store::TenantRecord TenantService::create(const std::string& id, const std::string& display_name,
                                          const std::string& tier, const store::AuditedChange& audited) {
  if (!is_valid_tenant_id(id))
    throw TenancyError(Kind::invalid, "tenantId must match ^[a-z](?:[a-z0-9-]{1,30}[a-z0-9])$");
  if (is_reserved_tenant_id(id)) throw TenancyError(Kind::invalid, "tenantId '" + id + "' is reserved");
  if (!tier_exists_(tier)) throw TenancyError(Kind::invalid, "tier '" + tier + "' is not configured");
  if (display_name.size() > 200) throw TenancyError(Kind::invalid, "displayName is longer than 200 characters");
  store::TenantRecord t;
  t.tenant_id = id;
  t.display_name = display_name.empty() ? id : display_name;
  t.tier = tier;
  t.status = "active";
  try {
    store::run_audited(audited, id, "tenant.create", "tenant/" + id, [&] { t = store_.insert_tenant(t); });
  } catch (const store::StoreError& e) {
    if (e.kind() == store::StoreError::Kind::duplicate)
      throw TenancyError(Kind::conflict, "tenant '" + id + "' exists");
    throw;
  }
  directory_.apply(t);
  return t;
}

std::optional<store::TenantRecord> TenantService::get(const std::string& id) { return store_.find_tenant(id); }

std::vector<store::TenantRecord> TenantService::list(const std::string& after, std::size_t limit) {
  return store_.list_tenants(after, limit);
}

store::TenantRecord TenantService::update(const std::string& id, const store::TenantPatch& patch,
                                          const store::AuditedChange& audited) {
  if (patch.tier && !tier_exists_(*patch.tier))
    throw TenancyError(Kind::invalid, "tier '" + *patch.tier + "' is not configured");
  if (patch.status && *patch.status != "active" && *patch.status != "suspended")
    throw TenancyError(Kind::invalid, "status must be active or suspended");
  if (patch.display_name && patch.display_name->size() > 200)
    throw TenancyError(Kind::invalid, "displayName is longer than 200 characters");
  // One conditional update (no read first): a DELETE committed in between leaves the tenant
  // deleted and this PATCH refused, never a revived tombstone.
  std::optional<store::TenantRecord> updated;
  store::run_audited(audited, id, "tenant.update", "tenant/" + id, [&] {
    updated = store_.update_tenant(id, patch);
    // Thrown inside the change: a refused PATCH leaves no audit event of a change.
    if (!updated) throw TenancyError(Kind::not_found, "no tenant '" + id + "'");
    if (updated->status == "deleted") throw TenancyError(Kind::conflict, "tenant '" + id + "' is deleted");
  });
  directory_.apply(*updated);
  return *updated;
}

ClientWithSecret TenantService::create_client(const std::string& tenant_id, const NewClient& nc,
                                              const store::AuditedChange& audited) {
  const bool platform = tenant_id == kPlatformTenant;
  if (!platform) {
    auto t = store_.find_tenant(tenant_id);
    if (!t || t->status == "deleted") throw TenancyError(Kind::not_found, "no tenant '" + tenant_id + "'");
  }
  if (nc.name.empty() || nc.name.size() > 100) throw TenancyError(Kind::invalid, "name must be 1 to 100 characters");
  if (nc.roles.empty()) throw TenancyError(Kind::invalid, "roles must name at least one role");
  for (const auto& r : nc.roles) {
    const bool ok = platform ? one_of(kPlatformRoles, r) : one_of(kTenantRoles, r);
    if (!ok)
      throw TenancyError(Kind::invalid, "role '" + r + "' cannot be given to a " +
                                            (platform ? "platform" : "tenant") + " client");
  }
  for (const auto& s : nc.scopes)
    if (!valid_scope(s)) throw TenancyError(Kind::invalid, "scope '" + s + "' is not a valid OAuth scope token");
  if (nc.grant_types.empty()) throw TenancyError(Kind::invalid, "grantTypes must not be empty");
  for (const auto& g : nc.grant_types)
    if (!one_of(kGrantTypes, g)) throw TenancyError(Kind::invalid, "grant type '" + g + "' is not supported");

  ClientWithSecret out;
  out.secret = crypto::random_token(32);
  auto& c = out.client;
  c.client_id = tenant_id + "-" + crypto::random_hex(8);
  c.tenant_id = tenant_id;
  c.name = nc.name;
  c.secret_hash = crypto::hash_secret(out.secret);
  c.roles = nc.roles;
  c.scopes = nc.scopes;
  c.grant_types = nc.grant_types;
  store::TenantStore tenant(store_, tenant_id);
  try {
    store::run_audited(audited, tenant_id, "client.create", "client/" + c.client_id, [&] { tenant.insert_client(c); });
  } catch (const store::StoreError& e) {
    // Deleted since the check above (or purged): the store refused the row.
    if (e.kind() == store::StoreError::Kind::gone) throw TenancyError(Kind::not_found, "no tenant '" + tenant_id + "'");
    throw;
  }
  if (auto stored = tenant.find_client(c.client_id)) c = *stored;  // with the store's timestamps
  return out;
}

ClientWithSecret TenantService::rotate_client_secret(const std::string& tenant_id, const std::string& client_id,
                                                     const store::AuditedChange& audited) {
  // Another tenant's client is a tenant-access violation (403, audited), not a silent miss.
  store::TenantStore tenant(store_, tenant_id);
  auto c = tenant.find_client(client_id);
  if (!c || c->status == "deleted") throw TenancyError(Kind::not_found, "no client '" + client_id + "'");
  ClientWithSecret out;
  out.secret = crypto::random_token(32);
  const std::string hash = crypto::hash_secret(out.secret);
  store::run_audited(audited, tenant_id, "client.rotate_secret", "client/" + client_id, [&] {
    if (!tenant.update_client_secret(client_id, hash)) throw TenancyError(Kind::not_found, "no client '" + client_id + "'");
  });
  out.client = tenant.find_client(client_id).value_or(*c);
  return out;
}

store::ClientRecord TenantService::set_client_enabled(const std::string& tenant_id, const std::string& client_id,
                                                      bool enabled, const store::AuditedChange& audited) {
  store::TenantStore tenant(store_, tenant_id);
  auto c = tenant.find_client(client_id);
  if (!c || c->status == "deleted") throw TenancyError(Kind::not_found, "no client '" + client_id + "'");
  const std::string status = enabled ? "active" : "disabled";
  store::run_audited(audited, tenant_id, enabled ? "client.enable" : "client.disable", "client/" + client_id, [&] {
    if (!tenant.set_client_status(client_id, status))
      throw TenancyError(Kind::not_found, "no client '" + client_id + "'");
  });
  directory_.apply_client(client_id, status);
  c->status = status;
  return *c;
}

void TenantService::delete_client(const std::string& tenant_id, const std::string& client_id,
                                  const store::AuditedChange& audited) {
  store::TenantStore tenant(store_, tenant_id);
  auto c = tenant.find_client(client_id);
  if (!c || c->status == "deleted") throw TenancyError(Kind::not_found, "no client '" + client_id + "'");
  store::run_audited(audited, tenant_id, "client.delete", "client/" + client_id, [&] {
    if (!tenant.set_client_status(client_id, "deleted"))
      throw TenancyError(Kind::not_found, "no client '" + client_id + "'");
  });
  directory_.apply_client(client_id, "deleted");
}

std::vector<store::ClientRecord> TenantService::list_clients(const std::string& tenant_id) {
  return store::TenantStore(store_, tenant_id).clients();
}

store::TenantRecord TenantService::remove(const std::string& id, std::int64_t purge_after,
                                          const store::AuditedChange& audited) {
  auto current = store_.find_tenant(id);
  if (!current) throw TenancyError(Kind::not_found, "no tenant '" + id + "'");
  if (current->status == "deleted") return *current;  // DELETE is idempotent
  std::optional<store::TenantRecord> deleted;
  store::run_audited(audited, id, "tenant.delete", "tenant/" + id, [&] {
    deleted = store_.mark_tenant_deleted(id, purge_after);
    if (!deleted) throw TenancyError(Kind::not_found, "no tenant '" + id + "'");
  });
  directory_.apply(*deleted);
  return *deleted;
}

}  // namespace pc::tenancy
