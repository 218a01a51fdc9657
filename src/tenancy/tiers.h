// Tier order (SPEC §6): basic < standard < premium. Agents and tools carry a tierMinimum.
#pragma once

#include <string_view>

namespace pc::tenancy {

// 0, 1, 2 for basic, standard, premium; -1 for anything else (which meets no minimum).
inline int tier_rank(std::string_view tier) {
  if (tier == "basic") return 0;
  if (tier == "standard") return 1;
  if (tier == "premium") return 2;
  return -1;
}

inline bool tier_meets(std::string_view tier, std::string_view minimum) {
  const int have = tier_rank(tier), need = tier_rank(minimum);
  return have >= 0 && need >= 0 && have >= need;
}

}  // namespace pc::tenancy
