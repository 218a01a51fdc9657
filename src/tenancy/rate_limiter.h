// Rate limits as GCRA (the generic cell rate algorithm, ITU-T I.371; the "theoretical arrival
// time" form of a token bucket): one 64-bit timestamp per key, no timer, no refill loop.
//
// A rate of `per_second` with a burst of `burst` lets `burst` calls through at once, then one
// every 1/per_second. Each admitted call pushes the key's theoretical arrival time (TAT) one
// emission interval T = 1/per_second further; a call is admitted while TAT - now stays within
// burst · T. Refused calls do not move the TAT, so a client that keeps hammering is refused only
// for what it sends beyond the rate, and Retry-After is exact: the wait until TAT - now drops
// back under the tolerance.
//
// RateLimiter is the seam for a shared backend: the local limiter below keeps the TATs of this
// node in memory; a cluster limiter can hand out local leases refilled from Redis behind the same
// call (docs/usage-plans.md "Many nodes").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pc::tenancy {

struct Rate {
  double per_second = 0;    // > 0
  std::uint64_t burst = 1;  // >= 1
};

struct RateDecision {
  bool allowed = true;
  std::uint64_t remaining = 0;  // calls that could follow at once
  std::int64_t retry_after_ns = 0;  // refused: the wait until one call is admitted
  std::int64_t reset_ns = 0;        // the wait until the whole burst is available again
};

// One GCRA step on `tat` (ns on any monotonic clock, 0 = never used) for `n` calls at `now`.
// Pure: the limiter calls it inside a compare-and-swap loop; tests call it directly.
RateDecision gcra(std::int64_t& tat, const Rate& rate, std::int64_t now, std::uint32_t n = 1);

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Takes `n` calls from the budget of (scope, key) — (tenant, "") for a tenant, (tenant,
  // subject) for one of its principals — at `now_ns` (steady clock). Thread-safe, and on the
  // hot path: no allocation once a key has been seen, no blocking I/O.
  virtual RateDecision take(std::string_view scope, std::string_view key, const Rate& rate, std::int64_t now_ns,
                            std::uint32_t n = 1) = 0;
  // Drops state of keys that no longer limit anything at `now_ns`; returns how many. The usage
  // sync thread calls it every interval whatever the limiter (review M4: a shared limiter's
  // tables grew without bound), never an I/O thread.
  virtual std::size_t sweep(std::int64_t now_ns) = 0;
};

// This node's limiter: TATs in a sharded hash table, each read and advanced with one
// compare-and-swap under the shard's shared lock (a new key takes the shard's lock once).
// Bounded: a key whose TAT has passed is the same as an absent one, so sweep() drops those; past
// `max_keys` a shard sweeps itself before it grows.
class LocalRateLimiter final : public RateLimiter {
 public:
  explicit LocalRateLimiter(std::size_t max_keys = 1u << 20);
  ~LocalRateLimiter() override;
  RateDecision take(std::string_view scope, std::string_view key, const Rate& rate, std::int64_t now_ns,
                    std::uint32_t n = 1) override;
  // Drops keys whose budget is full again at `now_ns`; returns how many.
  std::size_t sweep(std::int64_t now_ns) override;
  std::size_t size() const;

 private:
  struct Shard;
  std::unique_ptr<Shard[]> shards_;
  std::size_t max_per_shard_;
};

}  // namespace pc::tenancy
