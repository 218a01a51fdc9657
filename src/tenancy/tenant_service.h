// Tenants and their machine clients: the rules (SPEC §5-6) between the admin API and the store.
// Validates ids, tiers, statuses and roles, keeps the tenant directory current after each change,
// and generates client secrets (returned once, stored only as hashes). Blocking (store): call it
// from a WorkPool.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/store.h"
#include "tenancy/tenant_directory.h"

namespace pc::tenancy {

// A refused change; `kind` picks the HTTP status (invalid 400, not_found 404, conflict 409).
class TenancyError : public std::runtime_error {
 public:
  enum class Kind { invalid, not_found, conflict };
  TenancyError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct NewClient {
  std::string name;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::vector<std::string> grant_types = {"client_credentials"};
};

struct ClientWithSecret {
  store::ClientRecord client;
  std::string secret;  // shown once, never stored
};

class TenantService {
 public:
  // `tier_exists` answers for the configured tiers (read per call, so a reload counts).
  TenantService(store::Store& store, TenantDirectory& directory, std::function<bool(const std::string&)> tier_exists);

  // Each change takes an optional store::AuditedChange (audit::change_audit for the request):
  // with it, the change and its audit event (tenant.create, tenant.update, tenant.delete,
  // client.create, client.rotate_secret, client.enable, client.disable, client.delete) commit in one transaction.
  store::TenantRecord create(const std::string& tenant_id, const std::string& display_name, const std::string& tier,
                             const store::AuditedChange& audited = {});
  std::optional<store::TenantRecord> get(const std::string& tenant_id);
  std::vector<store::TenantRecord> list(const std::string& after, std::size_t limit);
  // Status changes: active <-> suspended. Deletion is its own operation.
  // A deleted tenant is a conflict, decided in the same statement as the update (a PATCH racing
  // a DELETE never revives it).
  store::TenantRecord update(const std::string& tenant_id, const store::TenantPatch& patch,
                             const store::AuditedChange& audited = {});
  // Marks the tenant deleted (its tokens stop working at once); the retention job purges its
  // data after `purge_after` (unix seconds). Deleting a deleted tenant changes nothing.
  store::TenantRecord remove(const std::string& tenant_id, std::int64_t purge_after,
                             const store::AuditedChange& audited = {});

  // Into a deleted tenant: not_found (checked atomically with the insert by the store).
  ClientWithSecret create_client(const std::string& tenant_id, const NewClient& c,
                                 const store::AuditedChange& audited = {});
  // New secret for a client of `tenant_id`; a client of another tenant raises
  // store::TenantAccessViolation.
  ClientWithSecret rotate_client_secret(const std::string& tenant_id, const std::string& client_id,
                                        const store::AuditedChange& audited = {});
  // Disables (enabled=false) or re-enables a client of `tenant_id`: a disabled client gets no
  // new tokens and the ones it holds are refused at once (the directory's blocked clients).
  // Another tenant's client raises store::TenantAccessViolation; a deleted one is not_found.
  store::ClientRecord set_client_enabled(const std::string& tenant_id, const std::string& client_id, bool enabled,
                                         const store::AuditedChange& audited = {});
  // Deletes a client of `tenant_id` for good (same effect on its tokens, same errors).
  void delete_client(const std::string& tenant_id, const std::string& client_id,
                     const store::AuditedChange& audited = {});
  std::vector<store::ClientRecord> list_clients(const std::string& tenant_id);

 private:
  store::Store& store_;
  TenantDirectory& directory_;
  std::function<bool(const std::string&)> tier_exists_;
};

}  // namespace pc::tenancy
