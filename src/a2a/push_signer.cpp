#include "a2a/push_signer.h"

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "auth/signing_keys.h"
#include "core/clock.h"
#include "jose/sign.h"

namespace pc::a2a {

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

PushSigner make_push_signer(const auth::SigningKeys& keys, std::function<std::string()> issuer) {
  return [&keys, issuer = std::move(issuer)](const std::string& relay_id, const std::string& delivery_id,
                                             std::string_view url, std::string_view body) {
    auto key = keys.active();
    if (!key) throw std::runtime_error("no active signing key yet");
    const std::int64_t now = core::unix_now();
    boost::json::object claims{{"iss", issuer()},
                               {"aud", url},
                               {"iat", now},
                               {"exp", now + kPushJwtLifetimeSeconds},
                               {"jti", delivery_id},
                               {"request_body_sha256", sha256_hex(body)},
                               {"portcullis_push_config", relay_id}};
    std::string jwt = jose::make_jws(*key, {}, claims);
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back(std::string(kPushSignatureHeader), jwt);
    // The client's own Authorization (its configured credentials), when it has one, replaces
    // this one (agents/webhooks.cpp puts the client's headers last).
    headers.emplace_back("Authorization", "Bearer " + jwt);
    return headers;
  };
}

}  // namespace pc::a2a
