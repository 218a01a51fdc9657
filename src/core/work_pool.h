// A bounded pool of worker threads for blocking work (SQLite, disk, hashing of large bodies), so
// that such work never runs on an I/O thread. The queue is bounded on purpose: when it is full,
// try_submit fails at once instead of letting latency grow without limit, and the caller answers
// 503 (back-pressure). A thread per request, or an unbounded queue, would turn an overload into
// an outage.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pc::core {

class WorkPool {
 public:
  // `name` labels the threads (visible in `top -H`, gdb) and the pool's log lines.
  // `threads` >= 1; `max_queue` is the number of jobs that may wait, not counting running ones.
  WorkPool(std::string name, unsigned threads, std::size_t max_queue);
  ~WorkPool();  // stop(): runs what is already queued, then joins

  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Queues `job`; false when the queue is full or the pool is stopping. Never blocks.
  // A job should not throw: an escaping exception is logged and swallowed so the worker survives.
  bool try_submit(std::function<void()> job);

  // Refuses new jobs, lets the workers finish every queued job, and joins them. Idempotent.
  // Must not be called from one of this pool's own jobs (a thread cannot join itself).
  void stop();

  std::size_t queued() const;  // jobs waiting, not yet picked up by a worker
  const std::string& name() const { return name_; }

 private:
  void run(unsigned index);

  const std::string name_;
  const std::size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::once_flag join_once_;
};

}  // namespace pc::core
