// libFuzzer target: compact JWS parsing (every header rule) and JWK / JWK Set parsing. Bad input
// must end in JoseError (or another std::exception from a JSON reader), never in a crash.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string_view>

#include "jose/jwk.h"
#include "jose/jwks.h"
#include "jose/jws.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)pc::jose::parse_jws(text);
  } catch (const std::exception&) {
  }
  try {
    (void)pc::jose::parse_jwk(pc::jose::parse_json_object_strict(text));
  } catch (const std::exception&) {
  }
  try {
    (void)pc::jose::JwkSet::parse(text);
  } catch (const std::exception&) {
  }
  return 0;
}
