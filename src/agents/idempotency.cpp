#include "agents/idempotency.h"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "core/clock.h"
#include "crypto/associated_data.h"
#include "crypto/random.h"
#include "store/store.h"
#include "vault/data_keys.h"

namespace pc::agents {
namespace {

std::string timestamp_in(std::chrono::seconds from_now) {
  return core::rfc3339(std::chrono::system_clock::now() + from_now);
}

// The sealed answer is bound to its key's row: a body copied to another tenant's, principal's or
// key's row does not open.
std::string answer_aad(const IdempotencyKey& k) {
  std::string row;
  crypto::append_length_prefixed(row, k.principal);
  crypto::append_length_prefixed(row, k.key);
  return crypto::row_aad(k.tenant_id, "idempotency_keys", row, "response_sealed");
}

store::IdempotencyRecord row_of(const IdempotencyKey& k) {
  store::IdempotencyRecord r;
  r.tenant_id = k.tenant_id;
  r.principal = k.principal;
  r.key = k.key;
  r.request_hash = k.request_hash;
  return r;
}

}  // namespace

Idempotency::Idempotency(store::Store& store, vault::DataKeys& keys) : Idempotency(store, keys, Options{}) {}

Idempotency::Idempotency(store::Store& store, vault::DataKeys& keys, Options options)
    : store_(store), keys_(keys), options_(options) {}

Idempotency::Begin Idempotency::begin(const IdempotencyKey& k) {
  store::IdempotencyRecord claim = row_of(k);
  claim.owner = crypto::random_hex(16);
  claim.created_at = core::rfc3339_now();
  claim.expires_at = timestamp_in(options_.ttl);
  claim.locked_until = timestamp_in(options_.lock);
  store::IdempotencyClaim found;
  try {
    found = store_.claim_idempotency_key(claim, claim.created_at);
  } catch (const store::StoreError& e) {
    using K = store::StoreError::Kind;
    throw IdempotencyError(e.kind() == K::gone   ? IdempotencyError::Kind::gone
                           : e.kind() == K::busy ? IdempotencyError::Kind::busy
                                                 : IdempotencyError::Kind::other,
                           e.what());
  }
  if (found.claimed) return {Outcome::run, claim.owner, {}};
  const store::IdempotencyRecord& row = *found.existing;
  // The hash is compared before the state: a different request under a key in flight is still
  // the client's mistake (422), not something to wait for.
  if (row.request_hash != k.request_hash) return {Outcome::mismatch, "", {}};
  if (row.state != "done") return {Outcome::in_flight, "", {}};
  Begin b{Outcome::replay, "", {}};
  b.answer.status = row.http_status;
  b.answer.content_type = row.content_type;
  if (row.response_sealed)
    b.answer.body = keys_.open(k.tenant_id, vault::kInvocationClass, answer_aad(k), *row.response_sealed);
  return b;
}

bool Idempotency::complete(const IdempotencyKey& k, const std::string& owner, const RememberedAnswer& answer) {
  store::IdempotencyRecord done = row_of(k);
  done.owner = owner;
  done.state = "done";
  done.http_status = answer.status;
  done.content_type = answer.content_type;
  done.response_sealed = keys_.seal(k.tenant_id, vault::kInvocationClass, answer_aad(k), answer.body);
  return store_.complete_idempotency_key(done);
}

bool Idempotency::release(const IdempotencyKey& k, const std::string& owner) {
  return store_.release_idempotency_key(k.tenant_id, k.principal, k.key, owner);
}

std::int64_t Idempotency::purge_expired() { return store_.purge_idempotency_keys_before(core::rfc3339_now()); }

std::string Idempotency::key_problem(std::string_view key) {
  if (key.empty()) return "Idempotency-Key is empty";
  if (key.size() > 255) return "Idempotency-Key is longer than 255 characters";
  for (char c : key)
    if (c < 0x21 || c > 0x7e) return "Idempotency-Key must be printable ASCII without spaces";
  return "";
}

std::string Idempotency::request_hash(std::string_view method, std::string_view path, std::string_view body) {
  std::string framed;
  crypto::append_length_prefixed(framed, method);
  crypto::append_length_prefixed(framed, path);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, framed.data(), framed.size()) == 1 &&
                  EVP_DigestUpdate(ctx, body.data(), body.size()) == 1 && EVP_DigestFinal_ex(ctx, md.data(), &n) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("idempotency: SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

bool Idempotency::worth_remembering(int status) {
  if (status < 200 || status >= 500) return false;
  // 499: the client left before the answer; nothing was answered to remember.
  return status != 408 && status != 409 && status != 425 && status != 429 && status != 499;
}

}  // namespace pc::agents
