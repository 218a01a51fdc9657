#include "vault/rewrap.h"

#include <openssl/crypto.h>

#include <stdexcept>
#include <vector>

#include "crypto/aead.h"
#include "crypto/associated_data.h"

namespace pc::vault {
namespace {

// Unwraps `wrapped` with the key `id` names and re-wraps it under `new_key`, checking the result
// opens before it is used: a row written here is the only copy of that key.
std::string rewrap_one(const crypto::MasterKeyring& old_keys, const crypto::MasterKey& new_key,
                       std::string_view id, std::string_view wrapped, const std::string& aad,
                       const std::string& what, std::size_t expected_size) {
  std::string raw;
  try {
    raw = old_keys.unwrap(id, wrapped, aad);
  } catch (const crypto::AeadError& e) {
    throw crypto::AeadError(what + " " + e.what() + "; nothing was re-wrapped");
  }
  std::string out;
  bool ok = expected_size == 0 || raw.size() == expected_size;
  if (ok) {
    out = crypto::seal(new_key.bytes(), raw, aad);
    std::string check = crypto::open(new_key.bytes(), out, aad);
    ok = check == raw;
    OPENSSL_cleanse(check.data(), check.size());
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!ok) throw crypto::AeadError(what + " did not re-wrap to the expected bytes; nothing was re-wrapped");
  return out;
}

}  // namespace

namespace {

// Re-wraps `data_keys` and `signing_keys` under `new_key` (in place) and counts them in `result`.
void rewrap_rows(std::vector<store::DataKeyRecord>& data_keys, std::vector<store::SigningKeyRecord>& signing_keys,
                 const crypto::MasterKeyring& old_keys, const crypto::MasterKey& new_key, RewrapResult& result) {
  for (auto& row : data_keys) {
    const std::string what = "data key " + row.tenant_id + "/" + row.data_class + " v" + std::to_string(row.version);
    row.wrapped = rewrap_one(old_keys, new_key, row.master_key_id, row.wrapped,
                             crypto::data_key_aad(row.tenant_id, row.data_class, row.version), what,
                             crypto::kAeadKeySize);
    ++result.rows_by_old_key[row.master_key_id];
    row.master_key_id = result.new_key_id;
  }
  for (auto& row : signing_keys) {
    // PKCS#8 DER has no fixed size: 0 skips the size check.
    row.private_sealed = rewrap_one(old_keys, new_key, row.master_key_id, row.private_sealed,
                                    crypto::signing_key_aad(row.kid), "signing key " + row.kid, 0);
    ++result.rows_by_old_key[row.master_key_id];
    row.master_key_id = result.new_key_id;
  }
  result.data_keys += data_keys.size();
  result.signing_keys += signing_keys.size();
}

// Passes after the first: a running gateway may create a data key (a new tenant's first secret)
// or a signing key (a rotation) under its current master key while the rotation runs, after the
// first pass read the rows. Each pass takes what is not yet under the new key; a few suffice
// unless keys are created faster than they are re-wrapped.
constexpr int kMaxCatchUpPasses = 10;

}  // namespace

RewrapResult rewrap_all(store::Store& store, const crypto::MasterKeyring& old_keys, const crypto::MasterKey& new_key) {
  RewrapResult result;
  result.new_key_id = crypto::master_key_id(new_key);

  // First pass: every row, those already under the new key included (a rerun after a crash).
  std::vector<store::DataKeyRecord> data_keys = store.all_data_keys();
  std::vector<store::SigningKeyRecord> signing_keys = store.all_signing_keys();
  rewrap_rows(data_keys, signing_keys, old_keys, new_key, result);
  store.rewrap(data_keys, signing_keys);

  for (int pass = 0; pass < kMaxCatchUpPasses; ++pass) {
    data_keys = store.all_data_keys();
    std::erase_if(data_keys, [&](const auto& r) { return r.master_key_id == result.new_key_id; });
    signing_keys = store.all_signing_keys();
    std::erase_if(signing_keys, [&](const auto& r) { return r.master_key_id == result.new_key_id; });
    if (data_keys.empty() && signing_keys.empty()) return result;
    rewrap_rows(data_keys, signing_keys, old_keys, new_key, result);
    store.rewrap(data_keys, signing_keys);
  }
  throw std::runtime_error("keys kept being created under another master key during " +
                           std::to_string(kMaxCatchUpPasses) +
                           " passes; the rows re-wrapped so far are committed, run the rotation again");
}

MasterKeyRotation rotate_master_key(store::Store& store, const std::string& key_path, std::int64_t now,
                                    const std::function<void(std::string_view step)>& after_step) {
  auto step = [&](std::string_view name) {
    if (after_step) after_step(name);
  };
  // Each failure names its step, so the operator knows where the rotation stopped
  // (docs/operations.md, "If a rotation is interrupted").
  auto in_step = [](const char* what, auto&& f) {
    try {
      return f();
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(what) + ": " + e.what());
    }
  };
  MasterKeyRotation out;
  // The key file plus `.new` and `.old-*`: every key a row may name.
  crypto::MasterKeyring keyring =
      in_step("loading the master keys (nothing changed)", [&] { return crypto::load_master_keyring(key_path); });
  out.old_key_id = keyring.current_id();

  crypto::MasterKey new_key = in_step("step 1, writing the new key (nothing re-wrapped)", [&] {
    return crypto::load_or_create_pending_master_key(key_path, &out.resumed);
  });
  keyring.add(crypto::MasterKey(new_key.bytes()));  // already there when resumed
  step("pending");

  out.rewrapped = in_step("step 2, re-wrapping in the store (the transaction did not commit)",
                          [&] { return rewrap_all(store, keyring, new_key); });
  step("rewrapped");

  out.retired_path = in_step("step 3, keeping the old key file (the store is re-wrapped under the pending key)",
                             [&] { return crypto::retire_current_master_key(key_path, now); });
  step("retired");

  in_step("step 4, moving the new key into place (the store is re-wrapped under the pending key)", [&] {
    crypto::install_pending_master_key(key_path);
    return 0;
  });
  return out;
}

}  // namespace pc::vault
