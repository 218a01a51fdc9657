#include "cluster/shared_rate_limiter.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include <openssl/evp.h>

#include <stdexcept>

#include "cluster/token_leases.h"
#include "core/base64url.h"
#include "core/log.h"
#include "core/metrics.h"

namespace pc::cluster {
namespace {

constexpr std::size_t kShards = 16;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t interval_ns(double per_second) {
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(1e9 / per_second), 1'000'000, 3'600'000'000'000);
}

// The table key of a limit, written into `out`: tenant ids hold no ':' (tenancy/tenant_id.h), so
// a tenant's key and its principals' keys never meet.
void lease_key(std::string& out, std::string_view scope, std::string_view key) {
  out.assign(key.empty() ? "t:" : "p:");
  out += scope;
  if (!key.empty()) {
    out += ':';
    out += key;
  }
}

// The Redis key of a limit (once per table key): a principal's key (issuer|sub, any length, any
// bytes) is named by its SHA-256, so a Redis key stays short whatever `sub` holds (review L4).
std::string redis_key_of(std::string_view scope, std::string_view key) {
  if (key.empty()) return "t:" + std::string(scope);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(key.data(), key.size(), md, &n, EVP_sha256(), nullptr) != 1) throw std::runtime_error("sha256 failed");
  return "p:" + std::string(scope) + ":" + core::base64url_encode({reinterpret_cast<const char*>(md), n});
}

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct Metrics {
  core::Gauge& shared = core::metrics()
                            .gauge("portcullis_limit_shared",
                                   "1 while rate limits are shared through Redis, 0 while each node limits to its share")
                            .get();
  core::Counter& fallbacks = core::metrics()
                                 .counter("portcullis_limit_fallbacks_total",
                                          "Switches of the shared rate limits to per-node shares (Redis unreachable)")
                                 .get();
  core::CounterFamily& local = core::metrics().counter(
      "portcullis_limit_local_answers_total",
      "Shared-limit calls answered without a leased token: on credit (paid back from the next lease) or by the "
      "node's share while a lease was slow",
      {"why"});
  core::Counter& credited = local.labels({"credit"});
  core::Counter& stalled = local.labels({"stall"});
  static Metrics& get() {
    static Metrics m;
    return m;
  }
};

}  // namespace

// One limit on this node. All fields under `mu` (held for a few instructions, never across I/O).
struct Cell {
  explicit Cell(std::string k) : redis_key(std::move(k)) {}
  const std::string redis_key;
  std::mutex mu;
  std::int64_t stock = 0;        // leased tokens not spent yet
  std::int64_t stock_at = 0;     // when the stock was last granted (steady ns)
  std::int64_t debt = 0;         // calls admitted on credit, paid from the next grants
  std::int64_t retry_until = 0;  // Redis has no token before this (steady ns); 0 = unknown
  bool in_flight = false;
  std::int64_t in_flight_since = 0;
  std::int64_t last_used = 0;
};

struct SharedRateLimiter::Impl : std::enable_shared_from_this<Impl> {
  TokenLeases& leases;
  std::function<std::size_t()> nodes;
  Options o;
  tenancy::LocalRateLimiter shares;  // the per-node shares, for while Redis cannot answer
  std::atomic<bool> degraded{false};
  std::atomic<std::int64_t> last_probe{0};

  struct Shard {
    std::shared_mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Cell>, Hash, std::equal_to<>> cells;  // by Redis key
  };
  Shard shards[kShards];

  Impl(TokenLeases& l, std::function<std::size_t()> n, Options opt)
      : leases(l), nodes(std::move(n)), o(opt), shares(opt.max_keys) {}

  std::size_t node_count() const { return std::max<std::size_t>(1, nodes ? nodes() : 1); }

  std::shared_ptr<Cell> cell(std::string_view scope, std::string_view key, std::int64_t now) {
    // Hot path: the key is built in this thread's buffer (no allocation once it has grown) and
    // looked up under the shard's shared lock; a new key takes the exclusive lock once.
    thread_local std::string buf;
    lease_key(buf, scope, key);
    const std::string_view k = buf;
    Shard& s = shards[Hash{}(k) % kShards];
    {
      std::shared_lock lock(s.mu);
      auto it = s.cells.find(k);
      if (it != s.cells.end()) return it->second;
    }
    std::unique_lock lock(s.mu);
    if (s.cells.size() >= std::max<std::size_t>(1, o.max_keys / kShards)) sweep_locked(s, now);
    auto [it, inserted] = s.cells.try_emplace(std::string(k), nullptr);
    if (inserted) it->second = std::make_shared<Cell>(redis_key_of(scope, key));
    return it->second;
  }

  std::size_t sweep_locked(Shard& s, std::int64_t now) {
    const std::int64_t idle = 4 * std::chrono::nanoseconds(o.lease_life).count();
    return std::erase_if(s.cells, [&](const auto& kv) {
      std::lock_guard l(kv.second->mu);
      return !kv.second->in_flight && kv.second->debt == 0 && now - kv.second->last_used > idle;
    });
  }

  tenancy::RateDecision from_share(std::string_view scope, std::string_view key, const tenancy::Rate& rate,
                                   std::int64_t now, std::uint32_t n) {
    return shares.take(scope, key, share(rate, node_count()), now, n);
  }

  // Sends one lease request for `cell` (marked in flight by the caller). Never under a lock: the
  // answer may come on another thread at any time.
  void request(const std::shared_ptr<Cell>& c, const tenancy::Rate& rate, std::int64_t want) {
    auto self = shared_from_this();
    try {
      leases.lease(c->redis_key, rate.per_second, static_cast<double>(std::max<std::uint64_t>(1, rate.burst)), want,
                   [self, c, want](std::optional<LeaseGrant> g) { self->answered(*c, want, g); });
    } catch (const std::exception& e) {  // invalid arguments: never for a plan's rate
      log::error("rate limits: a lease request failed", {{"key", c->redis_key}, {"error", e.what()}});
      std::lock_guard l(c->mu);
      c->in_flight = false;
    }
  }

  void answered(Cell& c, std::int64_t want, const std::optional<LeaseGrant>& g) {
    const std::int64_t now = steady_ns();
    {
      std::lock_guard l(c.mu);
      c.in_flight = false;
      if (g) {
        const std::int64_t granted = std::clamp<std::int64_t>(g->granted, 0, want);
        const std::int64_t paid = std::min(granted, c.debt);
        c.debt -= paid;
        if (granted > paid) {
          c.stock += granted - paid;
          c.stock_at = now;
        }
        c.retry_until = g->remaining < 1 ? now + std::chrono::nanoseconds(g->retry_after).count() : 0;
      }
    }
    if (g) {
      if (degraded.exchange(false)) {
        Metrics::get().shared.set(1);
        log::info("rate limits: shared through Redis again", {{"nodes", std::to_string(node_count())}});
      }
    } else if (!degraded.exchange(true)) {
      Metrics::get().shared.set(0);
      Metrics::get().fallbacks.inc();
      log::warn("rate limits: Redis unavailable; each node limits to its share of the rate",
                {{"nodes", std::to_string(node_count())}});
    }
  }
};

SharedRateLimiter::SharedRateLimiter(TokenLeases& leases, std::function<std::size_t()> nodes, Options o)
    : impl_(std::make_shared<Impl>(leases, std::move(nodes), o)) {
  Metrics::get().shared.set(1);
}

SharedRateLimiter::~SharedRateLimiter() = default;

bool SharedRateLimiter::shared() const { return !impl_->degraded.load(std::memory_order_relaxed); }

std::int64_t SharedRateLimiter::lease_size(const tenancy::Rate& rate, std::size_t nodes,
                                           std::chrono::milliseconds span) {
  const double want = std::floor(rate.per_second * static_cast<double>(span.count()) / 1000.0);
  const auto cap = static_cast<double>(std::max<std::uint64_t>(1, rate.burst / (2 * std::max<std::size_t>(1, nodes))));
  return static_cast<std::int64_t>(std::clamp(want, 1.0, cap));
}

tenancy::Rate SharedRateLimiter::share(const tenancy::Rate& rate, std::size_t nodes) {
  nodes = std::max<std::size_t>(1, nodes);
  return {rate.per_second / static_cast<double>(nodes), std::max<std::uint64_t>(1, rate.burst / nodes)};
}

tenancy::RateDecision SharedRateLimiter::take(std::string_view scope, std::string_view key, const tenancy::Rate& rate,
                                              std::int64_t now, std::uint32_t n) {
  Impl& i = *impl_;
  tenancy::RateDecision d;
  if (i.degraded.load(std::memory_order_relaxed)) {
    // Probe Redis now and then (a lease fails at once while the connection is down); its answer
    // switches every key back.
    std::int64_t last = i.last_probe.load(std::memory_order_relaxed);
    const std::int64_t every = std::chrono::nanoseconds(i.o.probe_interval).count();
    if (now - last >= every && i.last_probe.compare_exchange_strong(last, now)) {
      auto c = i.cell(scope, key, now);
      bool send = false;
      {
        std::lock_guard l(c->mu);
        if (!c->in_flight) {
          c->in_flight = send = true;
          c->in_flight_since = now;
          c->stock = c->debt = c->retry_until = 0;  // what it held before the outage is stale
        }
      }
      if (send) i.request(c, rate, 1);
    }
    return i.from_share(scope, key, rate, now, n);
  }

  const std::size_t nodes = i.node_count();
  const std::int64_t batch = lease_size(rate, nodes, i.o.lease_span);
  const std::int64_t credit = std::max<std::int64_t>(n, batch / 2);
  auto c = i.cell(scope, key, now);
  std::int64_t want = 0;
  {
    std::lock_guard l(c->mu);
    c->last_used = now;
    if (c->stock > 0 && now - c->stock_at > std::chrono::nanoseconds(i.o.lease_life).count()) c->stock = 0;
    const std::int64_t short_by = static_cast<std::int64_t>(n) - c->stock;
    if (short_by <= 0) {
      c->stock -= n;
      d.remaining = static_cast<std::uint64_t>(c->stock);
    } else if (c->in_flight && now - c->in_flight_since > std::chrono::nanoseconds(i.o.stall).count()) {
      // Redis is slow to answer (its timeout will tell whether it is down): the node's share of
      // the rate answers, without its burst. Redis meanwhile saves up to a burst that nobody
      // draws; up to the node's share of that burst, what the share admits is owed (paid from
      // it when Redis answers), so a slow Redis adds neither a burst nor a debt Redis never had.
      Metrics::get().stalled.inc();
      const tenancy::Rate s = share(rate, nodes);
      d = i.shares.take(scope, key, {s.per_second, 1}, now, n);
      if (d.allowed && c->debt < static_cast<std::int64_t>(s.burst)) c->debt += n;
      return d;
    } else if (c->retry_until > now) {
      d.allowed = false;
      d.retry_after_ns = c->retry_until - now;
    } else if (c->debt + short_by <= credit) {
      c->debt += short_by;
      c->stock = 0;
      Metrics::get().credited.inc();
    } else {
      d.allowed = false;
      d.retry_after_ns = interval_ns(rate.per_second);
    }
    // One lease in flight per key, none while Redis said it has nothing yet. Short (or owing):
    // the debt plus a lease. Otherwise refill ahead of need at half a lease left; leases of one
    // token are asked for only when needed, so a quiet node does not sit on the budget.
    if (!c->in_flight && c->retry_until <= now) {
      if (short_by > 0 || c->debt > 0)
        want = std::max<std::int64_t>(1, c->debt + (batch >= 2 ? batch : 0));
      else if (batch >= 2 && c->stock <= batch / 2)
        want = batch;
    }
    if (want > 0) {
      c->in_flight = true;
      c->in_flight_since = now;
    }
  }
  if (want > 0) i.request(c, rate, want);
  return d;
}

std::size_t SharedRateLimiter::sweep(std::int64_t now) {
  std::size_t dropped = 0;
  for (auto& s : impl_->shards) {
    std::unique_lock lock(s.mu);
    dropped += impl_->sweep_locked(s, now);
  }
  return dropped + impl_->shares.sweep(now);
}

}  // namespace pc::cluster
