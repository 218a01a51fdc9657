// Polls `f` until it answers true or `limit` has passed (then one last look): for tests that
// wait on another thread or process (a reconnect, a heartbeat) without a fixed sleep.
#pragma once

#include <chrono>
#include <thread>

namespace pc::testing {

template <class F>
bool eventually(F f, std::chrono::milliseconds limit,
                std::chrono::microseconds poll = std::chrono::milliseconds(1)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(poll);
  }
  return f();
}

}  // namespace pc::testing
