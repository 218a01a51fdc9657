#include "tenancy/concurrency.h"

namespace pc::tenancy {

std::atomic<std::int64_t>& ConcurrencyLimiter::counter(std::string_view tenant) {
  {
    std::shared_lock lock(mu_);
    if (auto it = counters_.find(tenant); it != counters_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = counters_.try_emplace(std::string(tenant), nullptr);
  if (inserted) it->second = std::make_unique<std::atomic<std::int64_t>>(0);
  return *it->second;
}

ConcurrencyLimiter::Slot ConcurrencyLimiter::try_acquire(std::string_view tenant, std::uint64_t max) {
  auto& c = counter(tenant);
  const std::int64_t now = c.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (max > 0 && static_cast<std::uint64_t>(now) > max) {
    c.fetch_sub(1, std::memory_order_acq_rel);
    return Slot();
  }
  return Slot(&c);
}

std::int64_t ConcurrencyLimiter::in_flight(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  auto it = counters_.find(tenant);
  return it == counters_.end() ? 0 : it->second->load(std::memory_order_acquire);
}

}  // namespace pc::tenancy
