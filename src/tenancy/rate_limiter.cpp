#include "tenancy/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

namespace pc::tenancy {
namespace {

constexpr std::size_t kShards = 16;
struct Key {
  std::string scope, key;
};
using KeyView = std::pair<std::string_view, std::string_view>;

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(KeyView k) const noexcept {
    const std::size_t a = std::hash<std::string_view>{}(k.first), b = std::hash<std::string_view>{}(k.second);
    return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  }
  std::size_t operator()(const Key& k) const noexcept { return (*this)(KeyView{k.scope, k.key}); }
};
struct KeyEq {
  using is_transparent = void;
  static KeyView view(const Key& k) { return {k.scope, k.key}; }
  static KeyView view(KeyView k) { return k; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return view(a) == view(b);
  }
};

}  // namespace

struct LocalRateLimiter::Shard {
  mutable std::shared_mutex mu;
  // unique_ptr: a cell's address stays put while the table rehashes under the exclusive lock.
  std::unordered_map<Key, std::unique_ptr<std::atomic<std::int64_t>>, KeyHash, KeyEq> cells;
};

LocalRateLimiter::LocalRateLimiter(std::size_t max_keys)
    : shards_(std::make_unique<Shard[]>(kShards)), max_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

LocalRateLimiter::~LocalRateLimiter() = default;

RateDecision LocalRateLimiter::take(std::string_view scope, std::string_view key, const Rate& rate, std::int64_t now,
                                    std::uint32_t n) {
  const KeyView k{scope, key};
  Shard& s = shards_[KeyHash{}(k) % kShards];
  auto step = [&](std::atomic<std::int64_t>& cell) {
    std::int64_t seen = cell.load(std::memory_order_relaxed);
    for (;;) {
      std::int64_t tat = seen;
      RateDecision d = gcra(tat, rate, now, n);
      if (!d.allowed || cell.compare_exchange_weak(seen, tat, std::memory_order_relaxed)) return d;
    }
  };
  {
    std::shared_lock lock(s.mu);
    auto it = s.cells.find(k);
    if (it != s.cells.end()) return step(*it->second);
  }
  std::unique_lock lock(s.mu);
  if (s.cells.size() >= max_per_shard_) std::erase_if(s.cells, [now](const auto& kv) { return kv.second->load() <= now; });
  auto [it, inserted] = s.cells.try_emplace(Key{std::string(scope), std::string(key)}, nullptr);
  if (inserted) it->second = std::make_unique<std::atomic<std::int64_t>>(0);
  return step(*it->second);
}

std::size_t LocalRateLimiter::sweep(std::int64_t now) {
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::unique_lock lock(shards_[i].mu);
    dropped += std::erase_if(shards_[i].cells, [now](const auto& kv) { return kv.second->load() <= now; });
  }
  return dropped;
}

std::size_t LocalRateLimiter::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::shared_lock lock(shards_[i].mu);
    n += shards_[i].cells.size();
  }
  return n;
}

}  // namespace pc::tenancy
