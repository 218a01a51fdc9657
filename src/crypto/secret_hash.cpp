#include "crypto/secret_hash.h"

#include "core/base64url.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <stdexcept>

#include "crypto/random.h"

namespace pc::crypto {
namespace {

constexpr std::string_view kPrefix = "s256$";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kDigestBytes = 32;

std::string sha256_salted(std::string_view salt, std::string_view secret) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string digest(kDigestBytes, '\0');
  unsigned len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), salt.data(), salt.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(digest.data()), &len) != 1 ||
      len != kDigestBytes)
    throw std::runtime_error("hash_secret: SHA-256 failed");
  return digest;
}

}  // namespace

std::string hash_secret(std::string_view secret) {
  std::string salt = random_bytes(kSaltBytes);
  return std::string(kPrefix) + core::base64url_encode(salt) + '$' +
         core::base64url_encode(sha256_salted(salt, secret));
}

bool verify_secret(std::string_view secret, std::string_view stored) {
  if (!stored.starts_with(kPrefix)) return false;
  stored.remove_prefix(kPrefix.size());
  auto sep = stored.find('$');
  if (sep == std::string_view::npos) return false;
  std::optional<std::string> salt = core::base64url_decode(stored.substr(0, sep));
  std::optional<std::string> expected = core::base64url_decode(stored.substr(sep + 1));
  if (!salt || !expected || salt->size() != kSaltBytes || expected->size() != kDigestBytes)
    return false;
  std::string actual;
  try {
    actual = sha256_salted(*salt, secret);
  } catch (const std::exception&) {
    return false;  // fail closed
  }
  return CRYPTO_memcmp(actual.data(), expected->data(), kDigestBytes) == 0;
}

}  // namespace pc::crypto
