// Read-mostly state (tenants, key sets, issuer tables) published as immutable snapshots.
//
// Writers build a whole new value and publish it; readers never see a half-built one. Readers on
// the hot path call read(), which costs one atomic load when nothing changed: each thread keeps
// its own reference to the current snapshot and refreshes it only when the generation moves.
// (std::atomic<std::shared_ptr> would take a lock bit and bump one shared reference count from
// every I/O thread, so its cache line would bounce between cores on every request.)
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace pc::core {

template <class T>
class Published {
 public:
  explicit Published(std::shared_ptr<const T> initial = nullptr) : current_(std::move(initial)) {}
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  void publish(std::shared_ptr<const T> next) {
    {
      std::lock_guard lock(mu_);
      current_ = std::move(next);
    }
    generation_.fetch_add(1, std::memory_order_release);
  }

  // A counted reference: stays valid as long as the caller holds it.
  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mu_);
    return current_;
  }

  // The current snapshot (nullptr when none was published). The pointer stays valid until this
  // thread's next read() of a Published<T> (of any instance): take what you need, then let go.
  // Each thread keeps a few slots, so alternating between a handful of instances stays cheap.
  const T* read() const {
    thread_local std::array<Slot, 8> slots;
    Slot& slot = slots[instance_ % slots.size()];
    const std::uint64_t gen = generation_.load(std::memory_order_acquire);
    if (slot.owner != this || slot.generation != gen || slot.instance != instance_) {
      slot.value = load();
      slot.owner = this;
      slot.instance = instance_;
      slot.generation = gen;
    }
    return slot.value.get();
  }

  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  struct Slot {
    const Published* owner = nullptr;
    std::uint64_t instance = 0;
    std::uint64_t generation = 0;
    std::shared_ptr<const T> value;
  };
  // A new object may reuse a destroyed one's address; the instance number tells them apart.
  static std::uint64_t next_instance() {
    static std::atomic<std::uint64_t> n{0};
    return ++n;
  }

  const std::uint64_t instance_ = next_instance();
  mutable std::mutex mu_;
  std::shared_ptr<const T> current_;
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace pc::core
