// Per-IP budgets (issue 12, area "edge"): a request rate per client address (GCRA) in a table of
// bounded size, and a count of open connections per peer address. Thread-safe: every I/O thread
// consults the same tables (a client's connections land on different threads), sharded so
// threads seldom wait on one another.
//
// Bounded memory: a spray of addresses can only make the rate table forget the least recently
// seen ones (counted in evictions()). A forgotten address starts again with a full burst, which
// is what an address seen for the first time gets anyway; an address that keeps sending stays
// at the front and is never the one forgotten unless `capacity` others arrive between two of its
// requests. The connection table holds only addresses with connections open, so it is bounded
// by server.limits.max_connections.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/metrics.h"

namespace pc::net {

class IpRateTable {
 public:
  using Clock = std::chrono::steady_clock;
  // `tracked` and `evicted` (optional) follow the table's size and its evictions.
  explicit IpRateTable(std::size_t capacity, core::Gauge* tracked = nullptr, core::Counter* evicted = nullptr);

  struct Decision {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};  // when refused: wait at least this long
  };
  // One request from `key` against `rps` per second with `burst` back to back (burst 0 = max(1,
  // rps)). rps <= 0 allows everything and touches nothing.
  Decision take(std::string_view key, double rps, std::uint64_t burst, Clock::time_point now = Clock::now());

  // Live: a smaller capacity takes effect as addresses arrive.
  void set_capacity(std::size_t capacity) { per_shard_.store(std::max<std::size_t>(1, capacity / kShards)); }
  std::size_t size() const;
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    std::string key;
    std::int64_t tat_ns;  // GCRA theoretical arrival time, steady clock
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // front: most recently seen
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views into lru's keys
  };
  std::array<Shard, kShards> shards_;
  std::atomic<std::size_t> per_shard_;
  std::atomic<std::uint64_t> evictions_{0};
  core::Gauge* tracked_;
  core::Counter* evicted_;
};

class IpConnectionTable {
 public:
  // Counts a new connection from `key`; false (nothing counted) when it already has `cap` open.
  bool try_open(const std::string& key, std::size_t cap);
  void close(const std::string& key);
  std::size_t open_for(const std::string& key) const;
  std::size_t size() const;  // addresses with a connection open

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::size_t> open;
  };
  Shard& shard(const std::string& key) { return shards_[std::hash<std::string>{}(key) % kShards]; }
  const Shard& shard(const std::string& key) const { return shards_[std::hash<std::string>{}(key) % kShards]; }
  std::array<Shard, kShards> shards_;
};

}  // namespace pc::net
