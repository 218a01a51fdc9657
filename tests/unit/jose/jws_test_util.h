// Helpers for the JWS/JWT tests: build tokens with arbitrary header/payload text, signed properly.
#pragma once

#include <string>
#include <string_view>

#include "core/base64url.h"
#include "jose/jws.h"
#include "jose/sign.h"

namespace pc::jose::testing {

// "b64(header).b64(payload).b64(sig)" where sig is `key`'s real signature: header rules are then
// the only reason a token can be rejected.
inline std::string sign_raw(const PrivateKey& key, std::string_view header_json,
                            std::string_view payload_json) {
  const std::string input =
      core::base64url_encode(header_json) + "." + core::base64url_encode(payload_json);
  return input + "." + core::base64url_encode(key.sign(key.alg(), input));
}

inline constexpr std::int64_t kNow = 1'700'000'000;

inline std::string good_payload() {
  return R"({"iss":"https://issuer.example","aud":"portcullis","sub":"u1","exp":1700000600,)"
         R"("iat":1700000000})";
}

// Verification options matching the issuer and audience the tests' tokens carry, at kNow.
inline VerifyOptions opts() {
  VerifyOptions o;
  o.claims.issuer = "https://issuer.example";
  o.claims.audiences = {"portcullis"};
  o.claims.now = kNow;
  return o;
}

}  // namespace pc::jose::testing
