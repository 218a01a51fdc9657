// Which master key wrapped a row, and the set of master keys a gateway can unwrap with.
//
// Rotating the master key (`portcullis keys rotate-master`, vault/rewrap.h) re-wraps every data
// key and signing key under a new master key, but there are moments when rows wrapped by two
// different master keys coexist: a rotation interrupted after its store transaction committed
// but before the new key file moved into place, or a key created by a running gateway while the
// rotation ran. So every wrapped row records the id of the key that wrapped it
// (store::DataKeyRecord::master_key_id, SigningKeyRecord::master_key_id), and a gateway holds a
// keyring: the current key, which wraps everything new, plus previous keys that only unwrap.
//
// The id is the first 16 hex characters (64 bits) of SHA-256("portcullis master key id\0" || key).
// It tells keys apart and names them in logs and errors without revealing anything usable about
// the key: SHA-256 is one-way, and the label keeps the value from matching any other hash of the
// key that some other tool might compute. 64 bits make an accidental collision between the
// handful of keys one deployment ever has negligible (about 2^-60 for 10 keys).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/master_key.h"

namespace pc::crypto {

// 16 lowercase hex characters; see above.
std::string master_key_id(const MasterKey& key);

// Immutable once shared: add() keys while setting it up, then hand out const references; every
// const member is safe to call from many threads. Move-only (it owns key bytes, cleansed when it
// is destroyed).
class MasterKeyring {
 public:
  explicit MasterKeyring(MasterKey current);
  MasterKeyring(MasterKeyring&&) noexcept = default;
  MasterKeyring& operator=(MasterKeyring&&) noexcept = default;
  MasterKeyring(const MasterKeyring&) = delete;
  MasterKeyring& operator=(const MasterKeyring&) = delete;

  // Adds a key that may have wrapped some rows: a previous master key, or the pending key of an
  // interrupted rotation. It only ever unwraps. Returns false (and drops `key`) when a key with
  // its id is in the ring already (the current one included).
  bool add(MasterKey key);

  const MasterKey& current() const { return *keys_.front().key; }
  const std::string& current_id() const { return keys_.front().id; }
  // Every id in the ring, the current one first.
  std::vector<std::string> ids() const;

  // The key with this id; "" means the current key (rows written before ids were recorded were
  // all wrapped by the one key there was). nullptr when no such key is in the ring.
  const MasterKey* find(std::string_view id) const;

  // seal() under the current key. Store current_id() with the result.
  std::string wrap(std::string_view plaintext, std::string_view aad) const;
  // open() with the key named by `master_key_id`. Throws AeadError whose message names the id
  // when that key is not in the ring or when the value does not open with it (wrong key file,
  // altered row). The message never contains key or plaintext bytes.
  std::string unwrap(std::string_view master_key_id, std::string_view sealed, std::string_view aad) const;

 private:
  struct Entry {
    std::string id;
    std::unique_ptr<MasterKey> key;  // stable address for find()
  };
  std::vector<Entry> keys_;  // keys_[0] is the current key
};

// The keyring of the key file at `path` (crypto::load_master_key: must exist, mode 0600, 32 bytes)
// as current key, plus, when present, `<path>.new` (the pending key of an interrupted rotation:
// rows the rotation already re-wrapped carry its id) and every `<path>.old-*` (keys a completed
// rotation retired: rows that a running gateway wrapped during the rotation may still carry their
// ids). Each extra file must pass the same checks as the key file; a bad one throws, naming it.
MasterKeyring load_master_keyring(const std::string& path);

// ---- The file steps of a master-key rotation (vault::rotate_master_key runs them) ---------------

// `<path>.new`.
std::string pending_master_key_path(const std::string& path);

// Loads `<path>.new`, or creates it (fresh random bytes, mode 0600, atomically) when it does not
// exist. `resumed` says it existed: an earlier rotation was interrupted and rows may already be
// wrapped by it, so it must be reused, never replaced.
MasterKey load_or_create_pending_master_key(const std::string& path, bool* resumed = nullptr);

// The last two steps, in this order (a rotation re-wraps the store between the pending key and
// these). The key file exists at every instant, holding the old key until step 2 and the new one
// after it, and both keys stay on disk throughout:
//
// 1. Keeps the current key as `<path>.old-<now>` (`-2`, `-3`, ... appended if that name is
//    taken; a hard link, so nothing is copied and nothing is ever overwritten). Returns that path.
//    Refuses (throws) when `path` is a symbolic link: replacing the link in step 2 would leave the
//    file it points to holding the old key, in use wherever else it is linked from, so such a key
//    must be rotated where it really lives.
std::string retire_current_master_key(const std::string& path, std::int64_t now);
// 2. Renames `<path>.new` over `path` (atomic). Throws when there is no pending key.
void install_pending_master_key(const std::string& path);

}  // namespace pc::crypto
