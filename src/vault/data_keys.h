// Envelope encryption: each tenant has one data key per data class ("secret", "invocation", ...),
// 32 random bytes that encrypt that tenant's values of that class; the data key itself is stored
// only wrapped (sealed) by the master key. Why two levels: a master-key rotation then re-wraps a
// handful of 32-byte keys instead of re-encrypting every row, a per-tenant key keeps one tenant's
// ciphertexts useless under another tenant's key, and a per-class key lets one class rotate (say,
// invocation content at high volume, see crypto/aead.h on nonce limits) without touching others.
//
//   data key row  (store::DataKeyRecord): wrapped = crypto::seal(master key, key,
//                  aad = crypto::data_key_aad(tenant, class, version)), master_key_id
//   sealed value  = 0x01 || key version (4 bytes, big-endian) || crypto::seal(data key, plaintext,
//                  aad = the 5 header bytes || aad_row)
//
// `aad_row` is the caller's crypto::row_aad(tenant, table, row, column) of the row the value is
// stored in: a value copied to another row, tenant or column fails to open. The version in the
// header picks the data key, so after rotate() new values use the new version and old ones still
// open with theirs; the header is part of the AAD, so altering it is detected.
//
// Keys are created on first use. Several gateways may share the store: if two create the same
// (tenant, class, version) at once, the store keeps the first (insert_data_key returns false for
// the other) and both use that one. Unwrapped keys are cached in memory, a bounded LRU, and
// cleansed when evicted and when this object is destroyed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crypto/aead.h"
#include "crypto/master_keyring.h"
#include "store/store.h"

namespace pc::vault {

inline constexpr std::string_view kSecretClass = "secret";
inline constexpr std::string_view kInvocationClass = "invocation";

class DataKeys {
 public:
  struct Options {
    // Unwrapped keys kept in memory (one per tenant, class and version in use).
    std::size_t cache_capacity = 4096;
    // How long seal() trusts the newest version it knows of before asking the store again. A
    // rotate() through this object takes effect here at once; one through another gateway is
    // seen within this time (until then values are sealed under the previous version, which is
    // still a valid key: nothing breaks, the rotation just lands a little later). Zero: ask the
    // store on every seal().
    std::chrono::milliseconds newest_version_ttl{30000};

    // rotation by count and age.
    // No key seals more than this many values (AES-GCM with random 96-bit nonces: NIST SP 800-38D
    // caps one key at 2^32 invocations; 2^24 keeps the nonce-collision chance below 2^-48). The
    // count is kept in the store, reserved `seal_block` at a time by each node, so nodes sharing
    // the store never pass it together; seals a node reserved but did not use are lost (the safe
    // direction). When the count or `max_key_age` is reached, seal() moves to a new version.
    std::int64_t max_seals_per_key = std::int64_t{1} << 24;
    std::int64_t seal_block = 1024;
    std::chrono::seconds max_key_age{std::chrono::hours(24 * 30)};
  };

  // `store` and `keyring` must outlive this object.
  DataKeys(store::Store& store, const crypto::MasterKeyring& keyring);
  DataKeys(store::Store& store, const crypto::MasterKeyring& keyring, Options options);
  ~DataKeys();  // cleanses every cached key
  DataKeys(const DataKeys&) = delete;
  DataKeys& operator=(const DataKeys&) = delete;

  // Encrypts `plaintext` under the newest data key of (tenant, class), creating version 1 when
  // the tenant has none. Blocking (store, on a cache miss). Throws std::invalid_argument for an
  // empty tenant or class, crypto::AeadError when the data key does not unwrap.
  std::string seal(std::string_view tenant_id, std::string_view data_class, std::string_view aad_row,
                   std::string_view plaintext);

  // Decrypts a value from seal() with the key version it names. Throws crypto::AeadError on any
  // mismatch: another tenant, class or row, an altered or truncated value, an unknown version, a
  // data key that does not unwrap with the loaded master keys. Blocking on a cache miss.
  std::string open(std::string_view tenant_id, std::string_view data_class, std::string_view aad_row,
                   std::string_view sealed);

  // Adds a new version of the (tenant, class) key; seal() uses it from now on (on this object at
  // once, on other gateways within newest_version_ttl). Returns the new newest version. If
  // another gateway rotates at the same moment, both end up using the one that landed.
  int rotate(std::string_view tenant_id, std::string_view data_class);

  // Drops every cached key of the tenant. Call it after purging a tenant: its id may be reused,
  // and its old keys must not linger in memory. (Should it be missed, open() still re-reads a key
  // whose cached copy fails, and cached "newest version" entries expire after newest_version_ttl.)
  void forget(std::string_view tenant_id);

  // The key version a sealed value names; nullopt when it is not one of ours.
  static std::optional<int> version_of(std::string_view sealed);

 private:
  struct Key;  // 32 key bytes, cleansed on destruction
  using KeyPtr = std::shared_ptr<const Key>;

  // The unwrapped key of that version, from the cache or the store. With `stale` set the cache is
  // bypassed, and nullptr returned when the store's row is still the one `stale` came from.
  KeyPtr key(std::string_view tenant_id, std::string_view data_class, int version, const Key* stale = nullptr);
  // The newest version, from the cache when fresh, else the store; 0 when there is none.
  int newest_version(std::string_view tenant_id, std::string_view data_class);
  // Reads every version from the store, caches them, and returns the newest (0: none).
  int load_versions(std::string_view tenant_id, std::string_view data_class);
  // Generates and inserts `version`; false when it existed (another gateway was first).
  bool create(std::string_view tenant_id, std::string_view data_class, int version);
  KeyPtr unwrap(const store::DataKeyRecord& row) const;
  void remember(const std::string& id, KeyPtr key);
  void remember_newest(const std::string& pair, int version);

  store::Store& store_;
  const crypto::MasterKeyring& keyring_;
  const Options options_;

  std::mutex mu_;
  // LRU of unwrapped keys by "tenant, class, version" (length-prefixed).
  std::list<std::pair<std::string, KeyPtr>> lru_;
  std::unordered_map<std::string, decltype(lru_)::iterator> by_id_;
  struct Newest {
    int version;
    std::chrono::steady_clock::time_point fetched;
  };
  std::unordered_map<std::string, Newest> newest_;  // by "tenant, class"

  // seals reserved in the store and not used yet, by "tenant, class".
  struct Budget {
    int version = 0;
    std::int64_t remaining = 0;
    std::chrono::system_clock::time_point retire_at;  // the key's created_at + max_key_age
  };
  std::unordered_map<std::string, Budget> budgets_;
  // The version seal() may use for one more value at or after `version`: from the budget, or a
  // new block reserved in the store, rotating when the key is full or too old. Blocking.
  int take_seal(std::string_view tenant_id, std::string_view data_class, int version);
};

}  // namespace pc::vault
