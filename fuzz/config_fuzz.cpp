// libFuzzer target: the configuration loader from YAML text. Any text must give a Config or a
// list of errors, never an exception or a crash. (Seeds avoid `file:` values, which read files.)
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto r = pc::core::parse_config(text);
  if (r.config.has_value() == !r.errors.empty()) __builtin_trap();
  return 0;
}
