#include "core/work_pool.h"

#include <pthread.h>

#include <exception>
#include <stdexcept>

#include "core/log.h"

namespace pc::core {

WorkPool::WorkPool(std::string name, unsigned threads, std::size_t max_queue)
    : name_(std::move(name)), max_queue_(max_queue) {
  if (threads == 0) throw std::invalid_argument("WorkPool " + name_ + ": needs at least one thread");
  workers_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this, i] { run(i); });
}

WorkPool::~WorkPool() { stop(); }

bool WorkPool::try_submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void WorkPool::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // call_once: concurrent stop() calls (say, a signal handler thread and the destructor) must not
  // both join the same threads.
  std::call_once(join_once_, [this] {
    for (auto& t : workers_) t.join();
  });
}

std::size_t WorkPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void WorkPool::run(unsigned index) {
  // Linux limits thread names to 15 characters.
  std::string thread_name = (name_ + "-" + std::to_string(index)).substr(0, 15);
  pthread_setname_np(pthread_self(), thread_name.c_str());

  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Drain before exiting: a queued job was accepted, and its caller is waiting for an answer.
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      log::error("work pool job threw", {{"pool", name_}, {"error", e.what()}});
    } catch (...) {
      log::error("work pool job threw", {{"pool", name_}, {"error", "unknown exception"}});
    }
  }
}

}  // namespace pc::core
