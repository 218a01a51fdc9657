#include "tenancy/tiers.h"

#include <memory>

#include "core/published.h"

namespace pc::tenancy {
namespace {

core::Published<TierRanks>& ranks() {
  static core::Published<TierRanks> r(std::make_shared<const TierRanks>(builtin_tier_ranks()));
  return r;
}

}  // namespace

TierRanks builtin_tier_ranks() { return {{"basic", 0}, {"standard", 1}, {"premium", 2}}; }

void publish_tier_ranks(TierRanks r) { ranks().publish(std::make_shared<const TierRanks>(std::move(r))); }

std::int64_t tier_rank(std::string_view tier) {
  const TierRanks* r = ranks().read();
  auto it = r->find(tier);
  return it == r->end() ? -1 : it->second;
}

bool tier_meets(std::string_view tier, std::string_view minimum) {
  const TierRanks* r = ranks().read();  // one snapshot for both names
  auto have = r->find(tier), need = r->find(minimum);
  return have != r->end() && need != r->end() && have->second >= need->second;
}

}  // namespace pc::tenancy
