#include "vault/secrets.h"

#include <stdexcept>

#include "crypto/associated_data.h"

namespace pc::vault {
namespace {

constexpr std::string_view kTable = "secrets";
constexpr std::string_view kColumn = "sealed";
// put() retries when a concurrent writer took the version it computed. Each retry re-reads the
// newest version, so this only runs out under a storm of writers on one name.
constexpr int kMaxPutAttempts = 16;

std::string aad_for(std::string_view tenant_id, std::string_view name, int version) {
  return crypto::row_aad(tenant_id, kTable, std::string(name) + "#" + std::to_string(version), kColumn);
}

void check_tenant(std::string_view tenant_id) {
  if (tenant_id.empty()) throw std::invalid_argument("secrets: the tenant id is empty");
}

void check_name(std::string_view name) {
  if (!SecretsVault::valid_name(name))
    throw std::invalid_argument("secrets: invalid secret name (1 to 128 characters of A-Z a-z 0-9 . _ -)");
}

}  // namespace

SecretsVault::SecretsVault(store::Store& store, DataKeys& keys) : store_(store), keys_(keys) {}

bool SecretsVault::valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

int SecretsVault::put(std::string_view tenant_id, std::string_view name, std::string_view value,
                      std::string_view created_by) {
  check_tenant(tenant_id);
  check_name(name);
  if (value.size() > kMaxValueSize)
    throw std::invalid_argument("secrets: the value is " + std::to_string(value.size()) +
                                " bytes; at most 65536 are allowed");
  if (created_by.empty()) throw std::invalid_argument("secrets: created_by is empty");

  for (int attempt = 1;; ++attempt) {
    const auto newest = store_.find_secret(tenant_id, name, 0);
    store::SecretRecord row;
    row.tenant_id = std::string(tenant_id);
    row.name = std::string(name);
    row.version = newest ? newest->version + 1 : 1;
    row.created_by = std::string(created_by);
    // Sealed per attempt: the version is part of the AAD.
    row.sealed = keys_.seal(tenant_id, kSecretClass, aad_for(tenant_id, name, row.version), value);
    try {
      store_.insert_secret(row);
      return row.version;
    } catch (const store::StoreError& e) {
      if (e.kind() != store::StoreError::Kind::duplicate || attempt >= kMaxPutAttempts) throw;
    }
  }
}

std::optional<std::string> SecretsVault::get(std::string_view tenant_id, std::string_view name) {
  check_tenant(tenant_id);
  check_name(name);
  const auto row = store_.find_secret(tenant_id, name, 0);  // 0: the newest
  if (!row) return std::nullopt;
  return open(tenant_id, name, *row);
}

std::optional<std::string> SecretsVault::get(std::string_view tenant_id, std::string_view name, int version) {
  check_tenant(tenant_id);
  check_name(name);
  // 0 means "newest" to the store; here it would hide a caller's bug, so it is refused.
  if (version < 1) throw std::invalid_argument("secrets: a version is 1 or more");
  const auto row = store_.find_secret(tenant_id, name, version);
  if (!row) return std::nullopt;
  return open(tenant_id, name, *row);
}

std::optional<std::string> SecretsVault::open(std::string_view tenant_id, std::string_view name,
                                              const store::SecretRecord& row) {
  // The key and the AAD come from what the caller asked for, not from the row's own fields: a
  // row the store handed back for another tenant or name (a bug there) fails to open instead of
  // being returned. Only the version is the row's.
  return keys_.open(tenant_id, kSecretClass, aad_for(tenant_id, name, row.version), row.sealed);
}

std::vector<SecretInfo> SecretsVault::list(std::string_view tenant_id) {
  check_tenant(tenant_id);
  std::vector<SecretInfo> out;
  for (auto& r : store_.list_secrets(tenant_id))
    out.push_back(SecretInfo{std::move(r.name), r.version, std::move(r.created_at), std::move(r.created_by)});
  return out;
}

bool SecretsVault::remove(std::string_view tenant_id, std::string_view name) {
  check_tenant(tenant_id);
  check_name(name);
  return store_.delete_secret(tenant_id, name);
}

}  // namespace pc::vault
