// Calls in flight per tenant (the usage plan's max_concurrent). A slot is taken when the limit
// stage admits a call and given back when its answer is complete — the last byte of a relayed
// or streamed answer, not the head (api/limit_stage.cpp) — so a tenant holding many slow streams
// open cannot take the whole gateway.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace pc::tenancy {

class ConcurrencyLimiter {
 public:
  // A held slot; gives it back when destroyed. Movable, not copyable.
  class Slot {
   public:
    Slot() = default;
    explicit Slot(std::atomic<std::int64_t>* counter) : counter_(counter) {}
    Slot(Slot&& o) noexcept : counter_(std::exchange(o.counter_, nullptr)) {}
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) (release(), counter_ = std::exchange(o.counter_, nullptr));
      return *this;
    }
    ~Slot() { release(); }
    explicit operator bool() const { return counter_ != nullptr; }
    void release() {
      if (counter_) counter_->fetch_sub(1, std::memory_order_acq_rel), counter_ = nullptr;
    }

   private:
    std::atomic<std::int64_t>* counter_ = nullptr;
  };

  // A slot of `tenant` when fewer than `max` are held (max 0: no limit, still counted); an empty
  // Slot when all are taken.
  Slot try_acquire(std::string_view tenant, std::uint64_t max);
  std::int64_t in_flight(std::string_view tenant) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::atomic<std::int64_t>& counter(std::string_view tenant);

  mutable std::shared_mutex mu_;
  // Counters are never removed (one per tenant that ever called), so a Slot's pointer stays valid.
  std::unordered_map<std::string, std::unique_ptr<std::atomic<std::int64_t>>, Hash, std::equal_to<>> counters_;
};

}  // namespace pc::tenancy
