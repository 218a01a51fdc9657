// One process-wide thread that runs callbacks at deadlines (the interceptor chains' timeouts).
// Deliberately not an Asio timer: the chains run on whatever thread an interceptor answers on,
// and a dedicated thread keeps Asio out of the service layer. Callbacks must be short.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace pc::mcp {

class DeadlineTimer {
 public:
  using Id = std::uint64_t;
  static DeadlineTimer& instance();

  // Runs `fn` on the timer thread after `delay`, unless cancelled first.
  Id schedule(std::chrono::milliseconds delay, std::function<void()> fn);
  // True when it was still pending (it will not run). Safe from any thread, also for an id that
  // already ran or was cancelled.
  bool cancel(Id id);

  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

 private:
  DeadlineTimer();
  struct Impl;
  Impl* impl_;
};

}  // namespace pc::mcp
