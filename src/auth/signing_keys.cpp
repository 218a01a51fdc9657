#include "auth/signing_keys.h"

#include <openssl/crypto.h>

#include <algorithm>

#include <boost/json.hpp>

#include "crypto/aead.h"
#include "crypto/associated_data.h"
#include "crypto/random.h"
#include "jose/jwks.h"

namespace pc::auth {
namespace {

store::SigningKeyRecord new_key(const crypto::MasterKey& mk) {
  const std::string kid = "pc-" + crypto::random_hex(8);
  jose::PrivateKey key = jose::PrivateKey::generate(jose::Alg::ES256, kid);
  std::string der = key.to_pkcs8_der();
  store::SigningKeyRecord r;
  r.kid = kid;
  r.alg = "ES256";
  r.public_jwk = boost::json::serialize(key.public_jwk());
  r.private_sealed = crypto::seal(mk.bytes(), der, crypto::signing_key_aad(kid));
  r.master_key_id = crypto::master_key_id(mk);  // so a master-key rotation knows which key to unwrap with
  OPENSSL_cleanse(der.data(), der.size());
  return r;
}

}  // namespace

SigningKeys::SigningKeys(const crypto::MasterKey& master_key)
    : master_key_(&master_key), master_key_id_(crypto::master_key_id(master_key)) {}

SigningKeys::SigningKeys(const crypto::MasterKeyring& keyring) : keyring_(&keyring) {}

bool SigningKeys::ensure_key(store::Store& store, const crypto::MasterKey& mk) {
  for (const auto& k : store.published_signing_keys())
    if (k.status == "active") return false;
  // Another gateway on the same store may create the first key at the same moment: the store
  // keeps whichever lands first, and the other one uses it.
  return store.insert_first_signing_key(new_key(mk));
}

std::string SigningKeys::rotate(store::Store& store, const crypto::MasterKey& mk,
                                std::int64_t max_token_lifetime_seconds, std::int64_t now) {
  store::SigningKeyRecord key = new_key(mk);
  // A token signed just before the rotation lives max_token_lifetime more, and verifiers allow
  // their leeway on top; keep the old key published a little past that.
  constexpr std::int64_t kGrace = 300;
  store.rotate_signing_key(key, now + max_token_lifetime_seconds + kGrace, now);
  return key.kid;
}

bool SigningKeys::load(store::Store& store, std::int64_t now) {
  std::lock_guard lock(load_mu_);
  auto rows = store.published_signing_keys();
  if (std::none_of(rows.begin(), rows.end(), [](const auto& r) { return r.status == "active"; }))
    throw std::runtime_error("the store has no active signing key");
  std::string fingerprint;
  for (const auto& r : rows)
    if (r.status == "active" || r.not_after >= now) fingerprint += r.kid + ":" + r.status + ";";
  if (fingerprint == loaded_fingerprint_) return false;

  std::shared_ptr<jose::PrivateKey> active;
  boost::json::array jwks;
  for (const auto& r : rows) {
    if (r.status == "retiring" && r.not_after < now) continue;  // every token it signed expired
    if (r.alg != "ES256") throw std::runtime_error("signing key " + r.kid + ": unsupported alg " + r.alg);
    jwks.push_back(boost::json::parse(r.public_jwk));
    if (r.status != "active") continue;
    std::string der;
    if (keyring_) {
      try {
        der = keyring_->unwrap(r.master_key_id, r.private_sealed, crypto::signing_key_aad(r.kid));
      } catch (const crypto::AeadError& e) {
        throw std::runtime_error("signing key " + r.kid + " " + e.what());
      }
    } else {
      if (!r.master_key_id.empty() && r.master_key_id != master_key_id_)
        throw std::runtime_error("signing key " + r.kid + " is sealed by master key " + r.master_key_id +
                                 ", not by the loaded one (" + master_key_id_ +
                                 "); an interrupted `portcullis keys rotate-master`? see docs/operations.md");
      try {
        der = crypto::open(master_key_->bytes(), r.private_sealed, crypto::signing_key_aad(r.kid));
      } catch (const crypto::AeadError&) {
        throw std::runtime_error("signing key " + r.kid +
                                 " does not unseal with this master key (wrong keys.master_key_file?)");
      }
    }
    active = std::make_shared<jose::PrivateKey>(jose::PrivateKey::from_pkcs8_der(der, jose::Alg::ES256, r.kid));
    OPENSSL_cleanse(der.data(), der.size());
  }
  if (!active) throw std::runtime_error("the store has no active signing key");
  auto text = std::make_shared<std::string>(boost::json::serialize(boost::json::object{{"keys", jwks}}));
  auto set = std::make_shared<jose::JwkSet>(jose::JwkSet::parse(*text));
  active_.publish(std::move(active));
  verify_->publish(std::move(set));
  jwks_json_.publish(std::move(text));
  loaded_fingerprint_ = std::move(fingerprint);
  return true;
}

}  // namespace pc::auth
