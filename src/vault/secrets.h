// The secrets vault: named, versioned secrets per tenant ("platform" for the platform's own),
// such as an upstream's API key that an interceptor adds to forwarded requests.
//
// Each put() adds a version (the newest + 1); get() returns the newest. Values are sealed under
// the tenant's "secret" data key (vault/data_keys.h) with the row's identity as AAD:
// crypto::row_aad(tenant, "secrets", name + "#" + version, "sealed"), so a sealed value moved to
// another tenant, name or version does not open.
//
// Values are for code inside the gateway only: nothing in the API returns them (listings carry
// names, versions and who/when, never values). Rotation takes effect without a restart: get()
// reads the newest version from the store on every call, and values are never cached here (a
// cache would keep more plaintext in memory for longer; only the unwrapped data key is cached,
// by DataKeys). A caller that needs a hot value may cache it itself, for a few seconds at most,
// so a rotation still lands promptly.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "vault/data_keys.h"

namespace pc::vault {

// What a listing shows of one secret: its newest version, never its value.
struct SecretInfo {
  std::string name;
  int version = 0;  // the newest
  std::string created_at;  // of the newest version
  std::string created_by;
};

class SecretsVault {
 public:
  static constexpr std::size_t kMaxNameLength = 128;
  static constexpr std::size_t kMaxValueSize = 64 * 1024;

  // `store` and `keys` must outlive the vault. Thread-safe (as its parts are).
  SecretsVault(store::Store& store, DataKeys& keys);

  // Stores a new version of `name` and returns its number (1 for a new name). A concurrent put()
  // of the same name from another gateway takes the next number instead: both versions exist,
  // the later one is newest. Throws std::invalid_argument for an empty tenant, a name outside
  // ^[A-Za-z0-9._-]{1,128}$, a value over 64 KiB, or an empty `created_by`.
  int put(std::string_view tenant_id, std::string_view name, std::string_view value, std::string_view created_by);

  // The newest version's value, or one given version's (>= 1); nullopt when there is no such
  // secret or version. Throws crypto::AeadError when the stored value does not open (altered or
  // moved row, missing data key). The caller owns the plaintext: OPENSSL_cleanse it when done.
  std::optional<std::string> get(std::string_view tenant_id, std::string_view name);
  std::optional<std::string> get(std::string_view tenant_id, std::string_view name, int version);

  // Every secret of the tenant (newest version of each), by name. Never values.
  std::vector<SecretInfo> list(std::string_view tenant_id);

  // Removes every version; false when the secret did not exist.
  bool remove(std::string_view tenant_id, std::string_view name);

  // The check put() applies; public so the API can reject a bad name before doing anything.
  static bool valid_name(std::string_view name);

 private:
  std::optional<std::string> open(std::string_view tenant_id, std::string_view name, const store::SecretRecord& row);

  store::Store& store_;
  DataKeys& keys_;
};

}  // namespace pc::vault
