#include "core/gcra.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pc::core {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

std::int64_t clamp64(__int128 v) { return v > kMax ? kMax : v < 0 ? 0 : static_cast<std::int64_t>(v); }

// The emission interval in ns: at least 1 (a million calls a second and more are all "no wait").
std::int64_t interval_ns(double per_second) {
  const double t = 1e9 / per_second;
  return t >= 9e18 ? kMax / 4 : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(t)));
}

}  // namespace

RateDecision gcra(std::int64_t& tat, const Rate& rate, std::int64_t now, std::uint32_t n) {
  const std::int64_t t = interval_ns(rate.per_second);
  const __int128 tolerance =
      std::min<__int128>(static_cast<__int128>(std::max<std::uint64_t>(rate.burst, 1)) * t, kMax / 4);
  const std::int64_t start = std::max(tat, now);
  const __int128 next = static_cast<__int128>(start) + static_cast<__int128>(n) * t;
  RateDecision d;
  if (next - now > tolerance) {
    d.allowed = false;
    d.retry_after_ns = clamp64(next - now - tolerance);
    d.remaining = static_cast<std::uint64_t>(clamp64((tolerance - (start - now)) / t));
    d.reset_ns = start - now;
    return d;
  }
  tat = clamp64(next);
  d.remaining = static_cast<std::uint64_t>(clamp64((tolerance - (next - now)) / t));
  d.reset_ns = clamp64(next - now);
  return d;
}

}  // namespace pc::core
