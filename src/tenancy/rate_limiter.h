// The tenants' and principals' rate budgets, each a GCRA (core/gcra.h) keyed by (scope, key).
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

#include "core/gcra.h"

namespace pc::tenancy {

using core::gcra;
using core::Rate;
using core::RateDecision;

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
