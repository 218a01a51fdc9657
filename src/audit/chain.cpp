#include "audit/chain.h"

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "crypto/associated_data.h"  // append_length_prefixed: the same unambiguous field encoding

namespace pc::audit {
namespace {

constexpr std::string_view kTag = "portcullis-audit-v1\n";

// SHA-256 fetched once: in OpenSSL 3 EVP_sha256() makes every EVP_DigestInit look the
// implementation up again, which costs about as much as hashing a short entry.
const EVP_MD* sha256() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) throw std::runtime_error("audit: OpenSSL has no SHA-256");
    return m;  // kept for the life of the process
  }();
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

std::string link_encoding(const store::AuditRecord& r, std::string_view prev_hash) {
  std::string out;
  out.reserve(kTag.size() + 10 * 6 + prev_hash.size() + r.time.size() + r.tenant_id.size() + r.actor.size() +
              r.action.size() + r.resource.size() + r.outcome.size() + r.request_id.size() + r.details.size() + 20);
  out += kTag;
  crypto::append_length_prefixed(out, prev_hash);
  crypto::append_length_prefixed(out, std::to_string(r.seq));
  crypto::append_length_prefixed(out, r.time);
  crypto::append_length_prefixed(out, r.tenant_id);
  crypto::append_length_prefixed(out, r.actor);
  crypto::append_length_prefixed(out, r.action);
  crypto::append_length_prefixed(out, r.resource);
  crypto::append_length_prefixed(out, r.outcome);
  crypto::append_length_prefixed(out, r.request_id);
  crypto::append_length_prefixed(out, r.details);
  return out;
}

std::string link_hash(const store::AuditRecord& r, std::string_view prev_hash) {
  // One context per thread, reused: the writer thread hashes every appended entry and verify
  // every stored one.
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  const std::string bytes = link_encoding(r, prev_hash);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1 || len != 32)
    throw std::runtime_error("audit: SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(64, '0');
  for (unsigned i = 0; i < 32; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

void link(store::AuditRecord& r, const std::string& prev_hash) {
  r.hash = link_hash(r, prev_hash);
  r.prev_hash = prev_hash;
}

}  // namespace pc::audit
