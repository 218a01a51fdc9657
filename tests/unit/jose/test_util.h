// Small helpers shared by the jose unit tests.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace pc::jose::testing {

inline std::string unhex(std::string_view hex) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex");
  };
  if (hex.size() % 2) throw std::invalid_argument("odd hex length");
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    out += char(nib(hex[i]) * 16 + nib(hex[i + 1]));
  return out;
}

}  // namespace pc::jose::testing
