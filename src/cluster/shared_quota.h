// Daily quotas counted by every node through Redis (docs/usage-plans.md "Many nodes"): the
// Redis side of tenancy::SharedQuota.
//
// One counter per quota day, tenant and meter, `portcullis:quota:<day>:<tenant>:<meter>` (day =
// the quota day's start, RFC 3339), with a TTL of two days: the calls every node admitted. Beside
// it, a hash `...:<meter>:held` of *reservations*: per node, how many calls of what is left it
// may still admit without asking, and until when (Redis's clock).
//
// The hot path never waits. A node admits a call from its reservation (a local count); each
// admitted call is reported by an asynchronous script that adds it to the counter and renews the
// node's reservation, and answers the cluster's total. At most one update is in flight per key
// and node: calls admitted meanwhile are coalesced into the next one, so a busy tenant costs one
// round trip at a time, not one per call. Each answer raises the meter's view to (the total +
// what this node counted since); the view also keeps the store's totals (the periodic flush goes
// on: the store stays the durable record).
//
// The bound. The script grants a node at most what is left after the counter and the others'
// live reservations, and about 1 ÷ (2 × nodes) of it (at least 1), so counter + reservations
// never pass the limit and the nodes together admit at most the limit, however unequal their
// round trips (an earlier design, each node guessing its share from a stale total, passed a
// quota of 50 by 9 when one node's answers lagged). What a node had not yet spent when it sent
// an update stays reserved for it, so calls admitted while the update is in flight are covered.
// Two exceptions. A node without a reservation (its first calls of a tenant's meter that day, or
// after its reservation lapsed, idle > 1 s; not when it is spent) admits calls *on credit* while
// it asks: up to a twentieth of an even split of what it knows to be left (1 to 64 calls), and
// none once its last answer said less than one call per node is left unreserved. Only a node
// whose knowledge was stale passes the limit that way: by 5 % of it (or one call per node) were
// every node stale at once. And an update in flight longer than 250 ms (a slow Redis) lets the
// node's view decide until it is answered, as with Redis down.
// The price: a reservation left unspent (the load moved to another node) is lost to the others
// until it lapses (2 s in Redis, 1 s here), and a node whose reservation is spent refuses with
// Retry-After 1 s while it asks for more (not the day's reset).
//
// Redis emptied (restart, FLUSHALL, eviction): the script never lets a counter fall below the
// view of the node that writes it (repair to the maximum, not a sum, so several nodes repairing
// at once do not double-count); the views hold the store's totals, so no count goes back to zero.
// The reservations are lost with it until each node's next update names its own again: in that
// window the quota can be passed by what the nodes held unspent (together at most about half of
// what was left when they were granted).
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
    std::chrono::milliseconds held_for{2000};         // a reservation's life in Redis after the update
    std::chrono::milliseconds spend_within{1000};     // ... and here, from the update's sending
    std::chrono::milliseconds stall{250};             // an update in flight longer: the view decides
    std::string node_id;                              // the reservation's name; empty: a random one
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
  void refresh(std::string_view tenant, std::int64_t day, tenancy::Meter meter, std::uint64_t view,
               std::uint64_t limit) override;

  static const std::string& script();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the updates in flight
};

}  // namespace pc::cluster
