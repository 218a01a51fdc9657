// Wall-clock time as JWT and OAuth count it: whole seconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace pc::core {

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pc::core
