#include "jose/verify.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <openssl/err.h>
#include <openssl/rsa.h>

namespace pc::jose {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool is_pss(Alg alg) { return alg == Alg::PS256 || alg == Alg::PS384 || alg == Alg::PS512; }

// Digests are fetched once for the process: passing EVP_sha256() and friends makes OpenSSL 3
// look the implementation up again on every use. Never freed (they live as long as the process).
const EVP_MD* digest_for(Alg alg) {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  static EVP_MD* const sha384 = EVP_MD_fetch(nullptr, "SHA2-384", nullptr);
  static EVP_MD* const sha512 = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
  switch (alg) {
    case Alg::RS256: case Alg::PS256: case Alg::ES256: return sha256;
    case Alg::RS384: case Alg::PS384: case Alg::ES384: return sha384;
    case Alg::RS512: case Alg::PS512: case Alg::ES512: return sha512;
    case Alg::EdDSA: return nullptr;  // Ed25519 hashes internally (PureEdDSA)
  }
  return nullptr;
}

std::size_t field_len(Curve crv) {
  switch (crv) {
    case Curve::P256: return 32;
    case Curve::P384: return 48;
    case Curve::P521: return 66;
    default: return 0;
  }
}

// DER for ECDSA-Sig-Value (RFC 3279 §2.2.3): SEQUENCE { INTEGER r, INTEGER s }. Big enough for
// P-521: 2 * (tag + len + 0x00 pad + 66 bytes) + SEQUENCE tag + 2-byte length.
constexpr std::size_t kMaxEcdsaDer = 2 * (2 + 1 + 66) + 3;

// Appends one canonical (minimal, non-negative) DER INTEGER for the big-endian `v`.
std::size_t der_integer(const unsigned char* v, std::size_t n, unsigned char* out) {
  while (n > 1 && v[0] == 0) { ++v; --n; }
  const bool pad = (v[0] & 0x80) != 0;  // a set top bit would read as negative
  std::size_t o = 0;
  out[o++] = 0x02;
  out[o++] = static_cast<unsigned char>(n + pad);  // <= 67: always the short length form
  if (pad) out[o++] = 0x00;
  for (std::size_t i = 0; i < n; ++i) out[o++] = v[i];
  return o;
}

// JWS ECDSA signatures are raw r||s (RFC 7518 §3.4); OpenSSL wants DER. Encoded by hand into a
// stack buffer (no BIGNUM/ECDSA_SIG allocations on the hot path). Returns 0 if malformed.
// OpenSSL re-encodes what it parses and rejects any non-canonical DER, so a mistake here fails
// closed; it also rejects r, s >= n.
std::size_t p1363_to_der(std::string_view sig, std::size_t field_len, unsigned char* out) {
  if (field_len == 0 || sig.size() != 2 * field_len) return 0;
  const unsigned char* r = bytes(sig);
  const unsigned char* s = r + field_len;
  // r or s of zero is never valid ("psychic signatures", CVE-2022-21449); OpenSSL rejects
  // them too, but checking here does not rely on that.
  auto is_zero = [field_len](const unsigned char* v) {
    unsigned char acc = 0;
    for (std::size_t i = 0; i < field_len; ++i) acc |= v[i];
    return acc == 0;
  };
  if (is_zero(r) || is_zero(s)) return 0;
  unsigned char body[kMaxEcdsaDer];
  std::size_t len = der_integer(r, field_len, body);
  len += der_integer(s, field_len, body + len);
  std::size_t o = 0;
  out[o++] = 0x30;
  if (len >= 0x80) out[o++] = 0x81;  // P-521 only: content is 128..138 bytes
  out[o++] = static_cast<unsigned char>(len);
  for (std::size_t i = 0; i < len; ++i) out[o++] = body[i];
  return o;
}

// What one (key, alg) needs for a verify, built once per thread. Building it (provider lookups,
// parameter plumbing) costs 2-3 µs: a fifth of an RSA-2048 verify here, hence the cache.
struct Prepared {
  // RS*/PS*/ES*: operation initialised and padding/digest set, so a verify is only the
  // public-key operation on a digest computed by the caller.
  PkeyCtxPtr pkey_ctx;
  // EdDSA: PureEdDSA has no prehash form, so this is an EVP_DigestVerifyInit'ed template that
  // each verify copies and then runs one-shot EVP_DigestVerify on (never reused after a verify).
  MdCtxPtr md_ctx;
};

PkeyCtxPtr prepare_pkey_ctx(const PublicKey& key, Alg alg) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey(), nullptr));
  const EVP_MD* md = digest_for(alg);
  if (!ctx || !md) return nullptr;
  if (key.kty() == KeyType::RSA && !is_pss(alg)) {
    // RS*: only the raw public-key operation; verify_pkcs1 checks the padding (see there).
    if (EVP_PKEY_verify_recover_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1)
      return nullptr;
    return ctx;
  }
  if (EVP_PKEY_verify_init(ctx.get()) != 1) return nullptr;
  if (key.kty() == KeyType::RSA) {
    // JWS PS*: MGF1 with the same hash, salt length = hash length (RFC 7518 §3.5).
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1)
      return nullptr;
  } else if (EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) {
    return nullptr;  // ECDSA: makes OpenSSL insist on a digest of exactly the hash's length
  }
  return ctx;
}

std::optional<Prepared> prepare(const PublicKey& key, Alg alg) {
  Prepared p;
  if (alg == Alg::EdDSA) {
    p.md_ctx.reset(EVP_MD_CTX_new());
    if (!p.md_ctx || EVP_DigestVerifyInit_ex(p.md_ctx.get(), nullptr, nullptr, nullptr, nullptr,
                                             key.pkey(), nullptr) != 1)
      return std::nullopt;
  } else if (!(p.pkey_ctx = prepare_pkey_ctx(key, alg))) {
    return std::nullopt;
  }
  return p;
}

// Prepared contexts, one cache per thread. Keys are shared read-only by all I/O threads, and an
// EVP_PKEY_CTX is mutable scratch (RSA-PSS writes a buffer in it), so each thread owns its
// contexts: no locks, no shared writes, nothing to copy per verify. Entries are keyed by the
// key's process-unique id, never its address, and each context holds its own reference to the
// EVP_PKEY, so a key freed by a JWKS refresh leaves at worst a stale entry that is never hit
// again and is evicted (least recently used) once the cache is full.
class ContextCache {
 public:
  // Covers the keys × algs a thread sees in practice (a few keys per tenant issuer). A miss only
  // costs the setup the cache saves (a few µs), so overflowing it degrades gracefully.
  static constexpr std::size_t kCapacity = 256;

  // nullptr when OpenSSL cannot build the context (then nothing is cached: it may be transient).
  const Prepared* get(const PublicKey& key, Alg alg) {
    static_assert(static_cast<unsigned>(Alg::EdDSA) < 16, "Alg must fit in 4 bits of the key");
    const std::uint64_t k = (key.id() << 4) | static_cast<std::uint64_t>(alg);
    ++tick_;
    if (auto it = entries_.find(k); it != entries_.end()) {
      it->second.last_used = tick_;
      return &it->second.prepared;
    }
    std::optional<Prepared> p = prepare(key, alg);
    if (!p) return nullptr;
    if (entries_.size() >= kCapacity) evict_oldest();
    return &entries_.emplace(k, Entry{std::move(*p), tick_}).first->second.prepared;
  }

 private:
  struct Entry {
    Prepared prepared;
    std::uint64_t last_used;
  };

  void evict_oldest() {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    entries_.erase(oldest);
  }

  std::unordered_map<std::uint64_t, Entry> entries_;
  std::uint64_t tick_ = 0;
};

ContextCache& context_cache() {
  thread_local ContextCache cache;
  return cache;
}

// Ed25519 verifies the whole message (one-shot EVP_DigestVerify, no streaming). The verify runs
// on a copy of the prepared template, as the context is not documented to be reusable after a
// one-shot verify; the copy costs ~0.2 µs against ~3 µs for a fresh EVP_DigestVerifyInit.
bool verify_ed25519(const PublicKey& key, std::string_view input, std::string_view sig) {
  if (sig.size() != 64) return false;
  const Prepared* p = context_cache().get(key, Alg::EdDSA);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return p && ctx && EVP_MD_CTX_copy_ex(ctx.get(), p->md_ctx.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(input), input.size()) == 1;
}

// Largest modulus OpenSSL will operate on (OPENSSL_RSA_MAX_MODULUS_BITS), in bytes.
constexpr std::size_t kMaxRsaBytes = 16384 / 8;

// DER of DigestInfo up to the hash value: AlgorithmIdentifier with NULL parameters, then the
// OCTET STRING header (RFC 8017 §9.2, note 1).
std::string_view digest_info_prefix(Alg alg) {
  switch (alg) {
    case Alg::RS256:
      return {"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20", 19};
    case Alg::RS384:
      return {"\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02\x05\x00\x04\x30", 19};
    case Alg::RS512:
      return {"\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03\x05\x00\x04\x40", 19};
    default:
      return {};
  }
}

// RSASSA-PKCS1-v1_5 verification as RFC 8017 §8.2.2 specifies it: apply the public key (OpenSSL,
// no padding: it also rejects a signature >= n), then compare the result with the one valid
// encoding EM' = 00 01 FF..FF 00 DigestInfo(hash) built here. Rebuilding and comparing leaves
// nothing to parse, so no BER/garbage leniency (Bleichenbacher 2006) is possible. It spares the
// two heap buffers and the DigestInfo encoding OpenSSL's RSA_verify makes on every call.
bool verify_pkcs1(EVP_PKEY_CTX* ctx, Alg alg, const unsigned char* digest, std::size_t digest_len,
                  std::string_view sig) {
  const std::string_view prefix = digest_info_prefix(alg);
  const std::size_t k = sig.size();  // == modulus length, checked by the caller
  const std::size_t t_len = prefix.size() + digest_len;
  if (prefix.empty() || k > kMaxRsaBytes || k < t_len + 11) return false;

  unsigned char em[kMaxRsaBytes];
  std::size_t em_len = sizeof em;
  if (EVP_PKEY_verify_recover(ctx, em, &em_len, bytes(sig), sig.size()) != 1 || em_len != k)
    return false;

  unsigned char expected[kMaxRsaBytes];
  expected[0] = 0x00;
  expected[1] = 0x01;
  std::memset(expected + 2, 0xff, k - t_len - 3);
  expected[k - t_len - 1] = 0x00;
  std::memcpy(expected + k - t_len, prefix.data(), prefix.size());
  std::memcpy(expected + k - digest_len, digest, digest_len);
  return std::memcmp(em, expected, k) == 0;  // all public data: no need for constant time
}

bool verify_impl(const PublicKey& key, Alg alg, std::string_view input, std::string_view sig) {
  if (!key.pkey() || !key_fits(key, alg)) return false;  // no pkey: a moved-from key
  // A JWK that declares its alg may only be used with that alg (RFC 7517 §4.4).
  if (!key.alg().empty() && key.alg() != alg_name(alg)) return false;
  if (key.kty() == KeyType::OKP) return verify_ed25519(key, input, sig);

  unsigned char der[kMaxEcdsaDer];
  if (key.kty() == KeyType::EC) {
    const std::size_t len = p1363_to_der(sig, field_len(key.curve()), der);
    if (len == 0) return false;
    sig = std::string_view(reinterpret_cast<const char*>(der), len);
  } else if (sig.size() != std::size_t(EVP_PKEY_get_size(key.pkey()))) {
    return false;  // RSA signatures are exactly the modulus length (RFC 8017 §8.2.2 step 1)
  }

  // Same checks as EVP_DigestVerify, which hashes and then runs this very verify step, minus
  // the per-call context setup.
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const EVP_MD* md = digest_for(alg);
  if (!md || EVP_Digest(input.data(), input.size(), digest, &digest_len, md, nullptr) != 1)
    return false;
  const Prepared* p = context_cache().get(key, alg);
  if (!p) return false;
  if (key.kty() == KeyType::RSA && !is_pss(alg))
    return verify_pkcs1(p->pkey_ctx.get(), alg, digest, digest_len, sig);
  return EVP_PKEY_verify(p->pkey_ctx.get(), bytes(sig), sig.size(), digest, digest_len) == 1;
}

}  // namespace

std::optional<Alg> parse_alg(std::string_view name) {
  static constexpr std::pair<std::string_view, Alg> kNames[] = {
      {"RS256", Alg::RS256}, {"RS384", Alg::RS384}, {"RS512", Alg::RS512},
      {"PS256", Alg::PS256}, {"PS384", Alg::PS384}, {"PS512", Alg::PS512},
      {"ES256", Alg::ES256}, {"ES384", Alg::ES384}, {"ES512", Alg::ES512},
      {"EdDSA", Alg::EdDSA}};
  for (const auto& [n, a] : kNames)
    if (n == name) return a;
  return std::nullopt;  // includes "none"/"NONE"/"None" and HS256/384/512
}

std::string_view alg_name(Alg alg) {
  switch (alg) {
    case Alg::RS256: return "RS256";
    case Alg::RS384: return "RS384";
    case Alg::RS512: return "RS512";
    case Alg::PS256: return "PS256";
    case Alg::PS384: return "PS384";
    case Alg::PS512: return "PS512";
    case Alg::ES256: return "ES256";
    case Alg::ES384: return "ES384";
    case Alg::ES512: return "ES512";
    case Alg::EdDSA: return "EdDSA";
  }
  return "";
}

bool key_fits(const PublicKey& key, Alg alg) {
  switch (alg) {
    case Alg::RS256: case Alg::RS384: case Alg::RS512:
    case Alg::PS256: case Alg::PS384: case Alg::PS512: return key.kty() == KeyType::RSA;
    case Alg::ES256: return key.curve() == Curve::P256;
    case Alg::ES384: return key.curve() == Curve::P384;
    case Alg::ES512: return key.curve() == Curve::P521;
    case Alg::EdDSA: return key.curve() == Curve::Ed25519;
  }
  return false;
}

bool verify(const PublicKey& key, Alg alg, std::string_view signing_input,
            std::string_view signature) {
  const bool ok = verify_impl(key, alg, signing_input, signature);
  ERR_clear_error();  // failed verifies queue errors; keep the thread-local queue clean
  return ok;
}

}  // namespace pc::jose
