// The built-in issuer's signing keys (SPEC §4): ES256 keys whose private halves are stored only
// sealed under the master key, one active key that signs, and the retiring ones that stay in the
// published JWKS until every token they signed has expired.
//
// Rotation is a store operation (rotate(), used by `portcullis keys rotate` and the admin API); every
// gateway sharing the store notices the new key on its next load() (the periodic refresh), so
// the key that signs and the keys that verify come from the same rows everywhere.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "auth/key_source.h"
#include "core/published.h"
#include "crypto/master_key.h"
#include "crypto/master_keyring.h"
#include "jose/sign.h"
#include "store/store.h"

namespace pc::auth {

class SigningKeys {
 public:
  explicit SigningKeys(const crypto::MasterKey& master_key);
  // Unseals each key with the keyring's key its row names (SigningKeyRecord::master_key_id), so
  // keys re-wrapped by an interrupted master-key rotation still load (crypto/master_keyring.h).
  explicit SigningKeys(const crypto::MasterKeyring& keyring);

  // First start: creates the first key when the store has none. Returns true when it did.
  // New keys record master_key_id(master_key); with a keyring, pass keyring.current().
  static bool ensure_key(store::Store& store, const crypto::MasterKey& master_key);
  // Adds a new active key; the old active key keeps verifying until `now + max_token_lifetime`
  // (plus leeway) and is then dropped from the JWKS by a later rotation. Returns the new kid.
  static std::string rotate(store::Store& store, const crypto::MasterKey& master_key,
                            std::int64_t max_token_lifetime_seconds, std::int64_t now);

  // Reads the published keys, unseals the active one and publishes both sets when anything
  // changed. Blocking (store). Throws when there is no active key or the active key does not
  // unseal (a wrong master key must stop the gateway, not sign with nothing). Returns true when
  // the keys changed. Safe to call from several threads (the background refresh, an admin
  // rotation): loads run one at a time, each reading the store inside its turn, so an older read
  // never publishes over a newer one.
  bool load(store::Store& store, std::int64_t now);

  // The key new tokens are signed with (nullptr before the first load).
  std::shared_ptr<const jose::PrivateKey> active() const { return active_.load(); }
  // issue 9: identity — moves whenever a (possibly new) active key is published: caches of tokens
  // signed with the active key compare it (one atomic load) to drop what a rotation made stale.
  std::uint64_t active_generation() const { return active_.generation(); }
  // {"keys":[…]} with every published public key, ready to serve.
  std::shared_ptr<const std::string> jwks_json() const { return jwks_json_.load(); }
  // The same keys for the verifier.
  std::shared_ptr<PublishedKeys> verification_keys() const { return verify_; }

 private:
  // Exactly one of these is set. With a single key, a row naming another master key is refused
  // with a message that says so (rather than a bare authentication failure).
  const crypto::MasterKey* master_key_ = nullptr;
  const crypto::MasterKeyring* keyring_ = nullptr;
  std::string master_key_id_;  // of master_key_
  std::mutex load_mu_;  // one load() at a time: it guards loaded_fingerprint_ and the publish order
  std::string loaded_fingerprint_;  // kid:status of the last load, to skip unchanged reloads
  core::Published<jose::PrivateKey> active_;
  core::Published<std::string> jwks_json_;
  std::shared_ptr<PublishedKeys> verify_ = std::make_shared<PublishedKeys>();
};

}  // namespace pc::auth
