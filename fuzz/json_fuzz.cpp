// libFuzzer target: the strict JSON object parser every request body goes through
// (api/json_body.cpp uses jose::parse_json_object_strict). What it accepts must serialise and
// parse back to an object with the same members of the same kinds.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string_view>

#include <boost/json.hpp>

#include "jose/jws.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::json::object o;
  try {
    o = pc::jose::parse_json_object_strict(text);
  } catch (const std::exception&) {
    return 0;
  }
  // Parsed again, it must succeed with the same members. Not compared for equality: Boost.JSON's
  // default (imprecise) number parsing may land one ulp from what it serialised.
  const auto again = pc::jose::parse_json_object_strict(boost::json::serialize(o));
  if (again.size() != o.size()) __builtin_trap();
  for (const auto& kv : o)
    if (!again.contains(kv.key()) || again.at(kv.key()).kind() != kv.value().kind()) __builtin_trap();
  return 0;
}
