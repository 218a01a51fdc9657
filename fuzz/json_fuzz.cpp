// libFuzzer target: the strict JSON object parser every request body goes through
// (api/json_body.cpp uses jose::parse_json_object_strict). What it accepts must serialise and
// parse back to the same object.
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
  const auto again = pc::jose::parse_json_object_strict(boost::json::serialize(o));
  if (again != o) __builtin_trap();
  return 0;
}
