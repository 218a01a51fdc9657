#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "crypto/random.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>

namespace pc::crypto {
namespace {

constexpr unsigned char kVersion = 0x01;
// The version byte as a string: the sealed value's first byte, and the first byte of GCM's AAD.
constexpr std::string_view kHeader{"\x01", 1};
constexpr std::size_t kOverhead = 1 + kAeadNonceSize + kAeadTagSize;
constexpr std::size_t kMaxIvSize = 128;  // OpenSSL's limit for GCM IVs
// SP 800-38D's limit on a GCM plaintext: 2^39 - 256 bits.
constexpr std::uint64_t kMaxTextSize = (std::uint64_t{1} << 36) - 32;
constexpr std::size_t kChunk = std::size_t{1} << 30;  // EVP lengths are ints

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// Clears OpenSSL's per-thread error queue before throwing: a stale entry there would be picked up
// by the next unrelated OpenSSL call on this thread (SSL_get_error, for one, reads it).
[[noreturn]] void fail(const char* what) {
  ERR_clear_error();
  throw AeadError(what);
}

unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The ciphers fetched from the default provider once. Handing EVP_CipherInit_ex the legacy
// EVP_aes_*_gcm() objects makes OpenSSL 3 fetch the implementation again on every call (a
// provider lookup under a lock), which showed in the invocation writer's profile (a seal per
// record). Falls back to the legacy object if the fetch fails.
const EVP_CIPHER* fetched(const char* name, const EVP_CIPHER* legacy) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  return c ? c : legacy;  // kept for the life of the process
}
const EVP_CIPHER* aes_128_gcm() {
  static const EVP_CIPHER* c = fetched("AES-128-GCM", EVP_aes_128_gcm());
  return c;
}
const EVP_CIPHER* aes_192_gcm() {
  static const EVP_CIPHER* c = fetched("AES-192-GCM", EVP_aes_192_gcm());
  return c;
}
const EVP_CIPHER* aes_256_gcm() {
  static const EVP_CIPHER* c = fetched("AES-256-GCM", EVP_aes_256_gcm());
  return c;
}

// Validates the parameters that are the caller's to get right and picks the cipher.
const EVP_CIPHER* gcm_cipher(std::size_t key_size, std::size_t iv_size, std::size_t tag_len) {
  if (iv_size == 0 || iv_size > kMaxIvSize) fail("AES-GCM: the IV must be 1 to 128 bytes");
  if (tag_len < 12 || tag_len > kAeadTagSize) fail("AES-GCM: the tag must be 12 to 16 bytes");
  switch (key_size) {
    case 16:
      return aes_128_gcm();
    case 24:
      return aes_192_gcm();
    case 32:
      return aes_256_gcm();
    default:
      fail("AES-GCM: the key must be 16, 24 or 32 bytes");
  }
}

// A context keyed and ready for AAD and data. The IV length is set before the IV, and checked:
// OpenSSL keeps its 12-byte default when it refuses a length, which would silently use a
// different nonce than the caller's.
CipherCtx start(const EVP_CIPHER* cipher, std::span<const unsigned char> key, std::string_view iv,
                bool encrypt) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  const int enc = encrypt ? 1 : 0;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()),
                          nullptr) != 1 ||
      EVP_CIPHER_CTX_get_iv_length(ctx.get()) != static_cast<int>(iv.size()) ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), bytes(iv), enc) != 1)
    fail("AES-GCM: cipher setup failed");
  return ctx;
}

// Feeds `in` through the cipher in int-sized chunks; `out` null means `in` is AAD. GCM is a
// stream mode, so each call writes exactly as many bytes as it reads.
void update(EVP_CIPHER_CTX* ctx, unsigned char* out, std::string_view in) {
  while (!in.empty()) {
    const std::size_t n = std::min(in.size(), kChunk);
    int written = 0;
    if (EVP_CipherUpdate(ctx, out, &written, bytes(in), static_cast<int>(n)) != 1 ||
        (out && written != static_cast<int>(n)))
      fail("AES-GCM: cipher update failed");
    if (out) out += n;
    in.remove_prefix(n);
  }
}

// Writes the ciphertext of `pt` and then the tag to `out` (pt.size() + tag_len bytes). GCM's AAD
// is aad_head || aad. The caller has checked the parameters and pt.size() <= kMaxTextSize.
void encrypt_to(const EVP_CIPHER* cipher, std::span<const unsigned char> key, std::string_view iv,
                std::string_view aad_head, std::string_view aad, std::string_view pt,
                std::size_t tag_len, unsigned char* out) {
  CipherCtx ctx = start(cipher, key, iv, true);
  update(ctx.get(), nullptr, aad_head);
  update(ctx.get(), nullptr, aad);
  update(ctx.get(), out, pt);
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out + pt.size(), &final_len) != 1 || final_len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_len),
                          out + pt.size()) != 1)
    fail("AES-GCM: encryption failed");
}

// Decrypts ct_and_tag (at least tag_len bytes) into `out` (ct_and_tag.size() - tag_len bytes).
// The caller has checked the parameters and that ct is at most kMaxTextSize bytes (nothing longer
// can be authentic). Returns false when authentication fails. Whenever it does not return true,
// `out` has been cleansed: the plaintext written there before the tag was checked is
// unauthenticated.
bool decrypt_to(const EVP_CIPHER* cipher, std::span<const unsigned char> key, std::string_view iv,
                std::string_view aad_head, std::string_view aad, std::string_view ct_and_tag,
                std::size_t tag_len, unsigned char* out) {
  const std::string_view ct = ct_and_tag.substr(0, ct_and_tag.size() - tag_len);
  std::array<unsigned char, kAeadTagSize> tag{};  // the ctrl wants a mutable buffer
  std::copy_n(bytes(ct_and_tag.substr(ct.size())), tag_len, tag.begin());
  bool ok = false;
  try {
    CipherCtx ctx = start(cipher, key, iv, false);
    update(ctx.get(), nullptr, aad_head);
    update(ctx.get(), nullptr, aad);
    update(ctx.get(), out, ct);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_len),
                            tag.data()) != 1)
      fail("AES-GCM: cipher setup failed");
    int final_len = 0;
    // The tag comparison inside is constant time.
    ok = EVP_DecryptFinal_ex(ctx.get(), out + ct.size(), &final_len) == 1 && final_len == 0;
    if (!ok) ERR_clear_error();
  } catch (...) {
    OPENSSL_cleanse(out, ct.size());
    throw;
  }
  if (!ok) OPENSSL_cleanse(out, ct.size());
  return ok;
}

}  // namespace

std::string seal(std::span<const unsigned char, kAeadKeySize> key, std::string_view plaintext,
                 std::string_view aad) {
  if (plaintext.size() > kMaxTextSize) fail("seal: the plaintext is too long");
  std::string out(kOverhead + plaintext.size(), '\0');
  out[0] = static_cast<char>(kVersion);
  // A random 96-bit nonce per seal, from the per-thread buffer (random.h): RAND_bytes per seal
  // showed in the invocation writer's profile.
  try {
    random_fill(bytes(out) + 1, kAeadNonceSize);
  } catch (const std::runtime_error&) {
    fail("seal: the OpenSSL random generator failed");
  }
  const std::string_view nonce = std::string_view(out).substr(1, kAeadNonceSize);
  encrypt_to(aes_256_gcm(), key, nonce, kHeader, aad, plaintext, kAeadTagSize,
             bytes(out) + 1 + kAeadNonceSize);
  return out;
}

std::string open(std::span<const unsigned char, kAeadKeySize> key, std::string_view sealed,
                 std::string_view aad) {
  if (sealed.size() < kOverhead) fail("open: the sealed value is too short");
  if (static_cast<unsigned char>(sealed[0]) != kVersion) fail("open: unknown sealed-value version");
  const std::string_view nonce = sealed.substr(1, kAeadNonceSize);
  const std::string_view body = sealed.substr(1 + kAeadNonceSize);
  if (body.size() - kAeadTagSize > kMaxTextSize) fail("open: the sealed value is too long");
  std::string pt(body.size() - kAeadTagSize, '\0');
  if (!decrypt_to(aes_256_gcm(), key, nonce, kHeader, aad, body, kAeadTagSize, bytes(pt)))
    fail("open: authentication failed (wrong key or aad, or altered data)");
  return pt;
}

std::string gcm_encrypt(std::span<const unsigned char> key, std::string_view iv,
                        std::string_view aad, std::string_view pt, std::size_t tag_len) {
  const EVP_CIPHER* cipher = gcm_cipher(key.size(), iv.size(), tag_len);
  if (pt.size() > kMaxTextSize) fail("AES-GCM: the plaintext is too long");
  std::string out(pt.size() + tag_len, '\0');
  encrypt_to(cipher, key, iv, {}, aad, pt, tag_len, bytes(out));
  return out;
}

std::optional<std::string> gcm_decrypt(std::span<const unsigned char> key, std::string_view iv,
                                       std::string_view aad, std::string_view ct_and_tag,
                                       std::size_t tag_len) {
  const EVP_CIPHER* cipher = gcm_cipher(key.size(), iv.size(), tag_len);
  if (ct_and_tag.size() < tag_len || ct_and_tag.size() - tag_len > kMaxTextSize)
    return std::nullopt;
  std::string pt(ct_and_tag.size() - tag_len, '\0');
  if (!decrypt_to(cipher, key, iv, {}, aad, ct_and_tag, tag_len, bytes(pt))) return std::nullopt;
  return pt;
}

}  // namespace pc::crypto
