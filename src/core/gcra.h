// Rate limits as GCRA (the generic cell rate algorithm, ITU-T I.371; the "theoretical arrival
// time" form of a token bucket): one 64-bit timestamp per key, no timer, no refill loop. Used by
// the tenants' and principals' budgets (tenancy/rate_limiter.h) and the per-address budgets at
// the edge (net/edge_budget.h).
//
// A rate of `per_second` with a burst of `burst` lets `burst` calls through at once, then one
// every 1/per_second. Each admitted call pushes the key's theoretical arrival time (TAT) one
// emission interval T = 1/per_second further; a call is admitted while TAT - now stays within
// burst · T. Refused calls do not move the TAT, so a client that keeps hammering is refused only
// for what it sends beyond the rate, and Retry-After is exact: the wait until TAT - now drops
// back under the tolerance.
#pragma once

#include <cstdint>

namespace pc::core {

struct Rate {
  double per_second = 0;    // > 0
  std::uint64_t burst = 1;  // >= 1
};

struct RateDecision {
  bool allowed = true;
  std::uint64_t remaining = 0;      // calls that could follow at once
  std::int64_t retry_after_ns = 0;  // refused: the wait until one call is admitted
  std::int64_t reset_ns = 0;        // the wait until the whole burst is available again
};

// One GCRA step on `tat` (ns on any monotonic clock, 0 = never used) for `n` calls at `now`.
// Pure: a limiter calls it under its lock or inside a compare-and-swap loop; tests call it
// directly. Rate and burst are independent settings, so b·T can pass int64 (0.0001/s with a
// burst of 1e6): the arithmetic is 128-bit and the tolerance is cut to a quarter of int64's range
// (~73 years of backlog), so a TAT never saturates into "always allowed".
RateDecision gcra(std::int64_t& tat, const Rate& rate, std::int64_t now, std::uint32_t n = 1);

}  // namespace pc::core
