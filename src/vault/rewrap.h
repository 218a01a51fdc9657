// Master-key rotation. Only the wrapping changes: every data key and every signing key is
// unwrapped with the keys it was wrapped by and re-wrapped with the new master key, in one store
// transaction. The data itself (secrets, invocation content) is never re-encrypted: it is sealed
// under data keys, which stay the same keys.
//
// `portcullis keys rotate-master` runs rotate_master_key(), whose steps are each safe to be
// interrupted (crash, kill, full disk):
//
//   1. `<key>.new` holds a fresh key (or, on a rerun, the one an interrupted run left: rows may
//      already be wrapped by it, so it is reused, never replaced).
//   2. rewrap_all(): one transaction; afterwards every row records the new key's id.
//   3. the old key is kept as `<key>.old-<unix time>` (a hard link: the key file stays in place).
//   4. `<key>.new` is renamed over `<key>` (atomic).
//
// After a crash before 2 committed, every row is still wrapped by the old key, which is still the
// key file. After 2 and before 4, rows name the new key's id while the key file is still the old
// key: crypto::load_master_keyring() reads `<key>.new` too, so a gateway that loads the keyring
// finds the key each row names. Running the command again finishes the job in every case (it
// resumes with the pending key and re-wraps whatever is not yet under it). See
// docs/operations.md, "Rotating the master key".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "crypto/master_keyring.h"
#include "store/store.h"

namespace pc::vault {

struct RewrapResult {
  std::size_t data_keys = 0;
  std::size_t signing_keys = 0;
  // How many rows each master key had wrapped before ("" for rows older than master-key ids).
  std::map<std::string, std::size_t> rows_by_old_key;
  std::string new_key_id;
};

// Re-wraps every data key and signing key under `new_key`, unwrapping each with the key of
// `old_keys` its row names, and writes them all in one Store::rewrap transaction. A row that
// does not unwrap stops everything before anything is written (crypto::AeadError naming the row
// and the key it needs), so a rotation never leaves rows that no key opens. Rows already under
// `new_key` are re-wrapped too, harmlessly (a rerun after a crash). Rows that running gateways
// create while this runs (still under their loaded master key) are caught by further passes,
// each re-wrapping what is not yet under `new_key`, until one finds nothing; rows created after
// it (a gateway not yet restarted) stay readable through the retired key file. Blocking.
RewrapResult rewrap_all(store::Store& store, const crypto::MasterKeyring& old_keys, const crypto::MasterKey& new_key);

struct MasterKeyRotation {
  RewrapResult rewrapped;
  std::string old_key_id;    // the key file's key before the rotation
  std::string retired_path;  // where that key now is: `<key>.old-<now>`
  bool resumed = false;      // an interrupted rotation's pending key was reused
};

// The whole rotation above for the key file at `key_path` and the store it wraps. `now` (unix
// seconds) names the retired key's file. `after_step`, when set, is called after each step with
// "pending", "rewrapped" and "retired" (tests make it throw to simulate a crash there).
// Running gateways keep the old key in memory: restart them afterwards (docs/operations.md).
MasterKeyRotation rotate_master_key(store::Store& store, const std::string& key_path, std::int64_t now,
                                    const std::function<void(std::string_view step)>& after_step = {});

}  // namespace pc::vault
