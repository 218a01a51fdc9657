// The errors of a configuration parse as one string, for assertion messages of config tests.
#pragma once

#include <string>

#include "core/config.h"

namespace pc::testing {

inline std::string errors_of(const core::ConfigResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

}  // namespace pc::testing
