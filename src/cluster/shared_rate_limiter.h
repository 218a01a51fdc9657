// The rate limits of every node drawn from one GCRA per limit kept in Redis (cluster::TokenLeases),
// without a round trip per request (docs/usage-plans.md "Many nodes").
//
// Each (scope, key) holds a local *stock* of tokens leased from Redis. take() spends from it under
// the key's short lock, on the I/O thread, and never waits for Redis: when the stock runs low it
// sends one lease request (at most one in flight per key) and returns. A lease asks for `lease_span`
// of the rate (at least 1 token, at most a share of the burst, so one node cannot hoard it); with
// leases of 2 tokens or more the refill starts at half a lease left, so a busy key's refill
// arrives before its stock is empty. Unspent tokens expire after `lease_life`: a node that went
// quiet does not keep a part of the shared budget to itself for long.
//
// Stock empty:
//  - Redis said when its next token is due (the script's retry-after hint) and that time has not
//    come: refused, Retry-After = that time.
//  - otherwise (a cold key, or a refill in flight): admitted *on credit* while the key owes
//    less than `credit` tokens (half a lease, at least 1). The debt is paid back from the next
//    grants before anything is stocked. Beyond the credit: refused, Retry-After one emission
//    interval. So the cluster admits at most what Redis grants plus what is owed at that moment —
//    `burst + rate × window + nodes × credit` over any window, and the owed tokens are paid back
//    as soon as Redis has them. The cost is that a key's first calls on a node can be refused
//    during one round trip when more than `credit` of them arrive at once.
//
// A refill in flight longer than `stall` (a slow Redis): the node's share of the rate (below)
// answers, without its burst; up to the node's share of the burst, what it admits is owed (Redis
// saves about a burst while nobody draws from it, and pays that back). Redis unreachable (a lease answered nullopt: down, timed
// out): each node limits alone at its share of the rate — rate ÷ nodes, burst ÷ nodes (at least
// 1), `nodes` from cluster::NodeRegistry (the last count seen). Nothing waits: a lease while Redis
// is down fails at once. While down, one probe lease at most every `probe_interval` tells when
// Redis is back; the first answer switches back. Each switch: one log line, the gauge
// portcullis_limit_shared (1 through Redis, 0 local shares), the counter
// portcullis_limit_fallbacks_total.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "tenancy/rate_limiter.h"

namespace pc::cluster {

class TokenLeases;

class SharedRateLimiter final : public tenancy::RateLimiter {
 public:
  struct Options {
    std::chrono::milliseconds lease_span{100};
    std::chrono::milliseconds lease_life{1000};
    std::chrono::milliseconds stall{250};
    std::chrono::milliseconds probe_interval{250};
    std::size_t max_keys = 1u << 20;
  };
  // `leases` must outlive the limiter and every lease it asked for. `nodes` (any thread, cheap)
  // answers how many nodes share the limits (>= 1; 0 is read as 1).
  SharedRateLimiter(TokenLeases& leases, std::function<std::size_t()> nodes, Options o);
  SharedRateLimiter(TokenLeases& leases, std::function<std::size_t()> nodes)
      : SharedRateLimiter(leases, std::move(nodes), Options{}) {}
  ~SharedRateLimiter() override;

  tenancy::RateDecision take(std::string_view scope, std::string_view key, const tenancy::Rate& rate,
                             std::int64_t now_ns, std::uint32_t n = 1) override;

  // False while every node limits at its own share (Redis unreachable).
  bool shared() const;
  // Drops keys idle for more than a few lease lives; returns how many.
  std::size_t sweep(std::int64_t now_ns) override;

  // The tokens one lease asks for, and the per-node share, for (rate, nodes): exposed for tests.
  static std::int64_t lease_size(const tenancy::Rate& rate, std::size_t nodes, std::chrono::milliseconds span);
  static tenancy::Rate share(const tenancy::Rate& rate, std::size_t nodes);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the lease answers in flight
};

}  // namespace pc::cluster
