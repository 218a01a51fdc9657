#include "mcp/deadline_timer.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace pc::mcp {

using Clock = std::chrono::steady_clock;

struct DeadlineTimer::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::pair<Clock::time_point, Id>, std::function<void()>> due;
  std::unordered_map<Id, Clock::time_point> when;
  Id next_id = 1;
  bool stopping = false;
  std::thread thread;

  void run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      if (due.empty()) {
        cv.wait(lock);
        continue;
      }
      auto first = due.begin();
      if (first->first.first > Clock::now()) {
        // A copy: wait_until reads its deadline again after waking, and while it waits (unlocked)
        // cancel() may erase the entry that holds it.
        const Clock::time_point at = first->first.first;
        cv.wait_until(lock, at);
        continue;
      }
      auto fn = std::move(first->second);
      when.erase(first->first.second);
      due.erase(first);
      lock.unlock();
      fn();  // outside the lock: it may schedule or cancel
      fn = nullptr;
      lock.lock();
    }
  }
};

DeadlineTimer& DeadlineTimer::instance() {
  static DeadlineTimer timer;
  return timer;
}

DeadlineTimer::DeadlineTimer() : impl_(new Impl) {
  impl_->thread = std::thread([this] { impl_->run(); });
}

DeadlineTimer::~DeadlineTimer() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  delete impl_;
}

DeadlineTimer::Id DeadlineTimer::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  const auto at = Clock::now() + delay;
  Id id;
  bool earliest;
  {
    std::lock_guard lock(impl_->mu);
    id = impl_->next_id++;
    impl_->due.emplace(std::pair{at, id}, std::move(fn));
    impl_->when.emplace(id, at);
    earliest = impl_->due.begin()->first.second == id;
  }
  if (earliest) impl_->cv.notify_one();
  return id;
}

bool DeadlineTimer::cancel(Id id) {
  std::function<void()> dropped;  // destroyed outside the lock (it may own anything)
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->when.find(id);
    if (it == impl_->when.end()) return false;
    auto d = impl_->due.find(std::pair{it->second, id});
    if (d != impl_->due.end()) {
      dropped = std::move(d->second);
      impl_->due.erase(d);
    }
    impl_->when.erase(it);
  }
  return true;
}

}  // namespace pc::mcp
