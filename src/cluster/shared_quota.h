// Daily quotas counted by every node through Redis (docs/usage-plans.md "Many nodes"): the
// Redis side of tenancy::SharedQuota.
//
// One counter per quota day, tenant and meter, `portcullis:quota:<day>:<tenant>:<meter>` (day =
// the quota day's start, RFC 3339), with a TTL of two days. The QuotaMeter decides on its own
// view on the hot path, as without Redis; each admitted call is added to the counter by an
// asynchronous script (INCRBY, then at least the node's view, then EXPIRE) that answers the
// cluster's total. At most one update is in flight per key and node: calls admitted meanwhile are
// coalesced into the next one, so a busy tenant costs one round trip at a time, not one per call.
// Each answer raises the meter's view to (the total + what this node counted since); the view
// also keeps the store's totals (the periodic flush goes on: the store stays the durable record).
//
// Over-admission. A node does not see the other nodes' calls of the last round trip. Near the
// limit, what a node may admit before its update is answered is its share of what is left:
// max(1, (limit − count) ÷ (2 × nodes)) (count: the last total it heard, or its view; half an
// even split because that total lacks the others' updates of the same round trip). So the nodes
// together pass the limit by about one call per node at most, plus what each admits on a view
// that went stale while it was idle for that tenant (one call per node when clients wait for
// their answers). The price: near the limit a node with more than its share in flight refuses
// a call that a later answer might have allowed (with Retry-After 1 s, not the day's reset).
//
// Redis emptied (restart, FLUSHALL, eviction): the script never lets a counter fall below the
// view of the node that writes it (repair to the maximum, not a sum, so several nodes repairing
// at once do not double-count); the views hold the store's totals, so no count goes back to zero.
// Redis down: nothing is sent (RedisClient::up is false, or the update fails at once), the
// node's view counts alone and meets the others' through the store, exactly as without Redis;
// the client's gauge portcullis_redis_up and its log lines say so. Back up: the next update
// repairs the counter from the view.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "tenancy/quota_meter.h"
#include "tenancy/shared_quota.h"

namespace pc::cluster {

class RedisClient;

class RedisSharedQuota final : public tenancy::SharedQuota {
 public:
  struct Options {
    std::string key_prefix = "portcullis:quota:";
    std::chrono::seconds ttl{2 * 86400};
    std::chrono::milliseconds refresh_interval{100};  // a refused call asks for the total at most this often
  };
  // `client` must outlive every update (stop it before this goes); `meter` receives the totals
  // until this is destroyed; `nodes` (any thread, cheap; 0 is read as 1) as for
  // SharedRateLimiter. Install with meter.set_shared().
  RedisSharedQuota(RedisClient& client, tenancy::QuotaMeter& meter, std::function<std::size_t()> nodes, Options o);
  RedisSharedQuota(RedisClient& client, tenancy::QuotaMeter& meter, std::function<std::size_t()> nodes)
      : RedisSharedQuota(client, meter, std::move(nodes), Options{}) {}
  ~RedisSharedQuota() override;

  bool take(std::string_view tenant, std::int64_t day, tenancy::Meter meter, std::uint64_t view, std::uint64_t limit,
            std::uint32_t n) override;
  void refresh(std::string_view tenant, std::int64_t day, tenancy::Meter meter, std::uint64_t view) override;

  static const std::string& script();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the updates in flight
};

}  // namespace pc::cluster
