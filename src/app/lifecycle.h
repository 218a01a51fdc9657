// The running gateway as an ordered list of subsystems, each with an explicit start, drain and
// stop. Shutdown drains and stops them in reverse order of start, so whatever another subsystem
// uses outlives it by construction (started before it), not by where a member happens to be
// declared. serve.cpp lists them; docs/life-of-a-request.md §8 walks through the order.
//
// Why the order matters, for example: the I/O threads start first and stop last, because work
// pool jobs, audit callbacks and key-refresh waiters answer requests by posting to an I/O
// thread's io_context, which must still exist when they finish.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace pc::app {

struct Subsystem {
  std::string name;
  // Stop taking new work and let work in flight finish, within the time left of the drain
  // deadline. Optional.
  std::function<void(std::chrono::milliseconds left)> drain;
  // Finish (or cut) what is left and release threads. Runs once; must not throw.
  std::function<void()> stop;
};

class Lifecycle {
 public:
  Lifecycle() = default;
  ~Lifecycle();  // shutdown(0): a failed start still stops what had started
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // Runs `start` (it may throw: nothing is recorded then, and the caller's shutdown stops the
  // ones started before), then records `s` as started.
  void start(Subsystem s, const std::function<void()>& start = {});

  // Last started first: drain each (sharing one deadline `drain` from now), then stop it.
  // Idempotent; later calls do nothing.
  void shutdown(std::chrono::milliseconds drain);

  // Names in start order (tests, logs).
  std::vector<std::string> names() const;

 private:
  std::vector<Subsystem> started_;
};

}  // namespace pc::app
