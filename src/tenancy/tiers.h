// Tier order (SPEC §6). The built-in tiers rank basic (0) < standard (1) < premium (2); the
// configuration may add tiers, each with an explicit `rank` (docs/configuration.md, `tiers`), and
// may re-rank the built-in ones. Agents and tools carry a tierMinimum, met by every tier whose rank
// is at least the minimum's. Every comparison of tiers goes through tier_rank / tier_meets, which
// read the ranks the running configuration published.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace pc::tenancy {

using TierRanks = std::map<std::string, std::int64_t, std::less<>>;

// basic 0, standard 1, premium 2: what is in force until a configuration publishes its own.
TierRanks builtin_tier_ranks();

// Replaces the ranks in force (on start and on every reload).
void publish_tier_ranks(TierRanks ranks);

// The tier's rank; -1 for a name that is not a tier (which meets no minimum).
std::int64_t tier_rank(std::string_view tier);

bool tier_meets(std::string_view tier, std::string_view minimum);

}  // namespace pc::tenancy
