#include "net/edge_budget.h"

#include <algorithm>
#include <cmath>

#include "core/gcra.h"

namespace pc::net {
IpRateTable::IpRateTable(std::size_t capacity, core::Gauge* tracked, core::Counter* evicted)
    : per_shard_(std::max<std::size_t>(1, capacity / kShards)), tracked_(tracked), evicted_(evicted) {}

IpRateTable::Decision IpRateTable::take(std::string_view key, double rps, std::uint64_t burst, Clock::time_point now) {
  if (!(rps > 0)) return {};
  const std::uint64_t b = burst ? burst : std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(rps)));
  const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();

  Shard& s = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    const std::size_t cap = per_shard_.load(std::memory_order_relaxed);
    while (s.lru.size() >= cap) {
      s.index.erase(s.lru.back().key);
      s.lru.pop_back();
      evictions_.fetch_add(1, std::memory_order_relaxed);
      if (evicted_) evicted_->inc();
      if (tracked_) tracked_->dec();
    }
    s.lru.push_front({std::string(key), now_ns});
    if (tracked_) tracked_->inc();
    it = s.index.emplace(s.lru.front().key, s.lru.begin()).first;
  } else if (it->second != s.lru.begin()) {
    s.lru.splice(s.lru.begin(), s.lru, it->second);  // iterators (and the key's view) stay valid
  }
  // GCRA (core/gcra.h): b requests pass back to back, then one per 1/rps.
  const core::RateDecision d = core::gcra(it->second->tat_ns, {rps, b}, now_ns);
  if (!d.allowed) return {false, std::chrono::milliseconds(d.retry_after_ns / 1'000'000 + (d.retry_after_ns % 1'000'000 != 0))};
  return {};
}

std::size_t IpRateTable::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.lru.size();
  }
  return n;
}

bool IpConnectionTable::try_open(const std::string& key, std::size_t cap) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto& n = s.open[key];
  if (n >= cap) {
    if (n == 0) s.open.erase(key);
    return false;
  }
  ++n;
  return true;
}

void IpConnectionTable::close(const std::string& key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.open.find(key);
  if (it == s.open.end()) return;
  if (--it->second == 0) s.open.erase(it);
}

std::size_t IpConnectionTable::open_for(const std::string& key) const {
  const Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.open.find(key);
  return it == s.open.end() ? 0 : it->second;
}

std::size_t IpConnectionTable::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.open.size();
  }
  return n;
}

}  // namespace pc::net
