#include "auth/key_refresher.h"

#include "core/log.h"

namespace pc::auth {

using Clock = RemoteKeys::Clock;

KeyRefresher::KeyRefresher() : thread_([this] { run(); }) {}

KeyRefresher::~KeyRefresher() { stop(); }

void KeyRefresher::stop() {
  std::map<std::shared_ptr<RemoteKeys>, Pending> waiting;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    waiting.swap(waiting_);
  }
  cv_.notify_all();
  // Answer the waiters before joining: the thread may be in a fetch that takes up to its
  // timeout, and the waiters (token jobs on a work pool) must not wait it out at shutdown. They
  // re-check the keys and fail closed. The thread finds their entry gone when its fetch ends.
  for (auto& [keys, pending] : waiting)
    for (auto& fn : pending.waiters) fn();
  std::lock_guard join(join_mu_);  // two threads stopping at once must not both join
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void KeyRefresher::set_sources(std::vector<std::shared_ptr<RemoteKeys>> sources) {
  {
    std::lock_guard lock(mu_);
    sources_ = std::move(sources);
  }
  cv_.notify_all();
}

void KeyRefresher::refetch(const std::shared_ptr<RemoteKeys>& keys, std::function<void()> done) {
  {
    std::unique_lock lock(mu_);
    if (!stopping_) {
      auto it = waiting_.find(keys);
      if (it != waiting_.end()) {  // a refetch is pending or under way: share it
        if (it->second.waiters.size() < kMaxWaiters) {
          it->second.waiters.push_back(std::move(done));
          return;
        }
      } else if (keys->allow_refetch(Clock::now())) {
        waiting_[keys].waiters.push_back(std::move(done));
        lock.unlock();
        cv_.notify_all();
        return;
      }
    }
  }
  done();
}

std::vector<std::string> KeyRefresher::refresh_all_now() {
  std::vector<std::shared_ptr<RemoteKeys>> sources;
  {
    std::lock_guard lock(mu_);
    sources = sources_;
  }
  std::vector<std::string> failures;
  for (const auto& s : sources)
    if (std::string why = s->refresh(Clock::now()); !why.empty())
      failures.push_back(s->config().name + ": " + why);
  return failures;
}

void KeyRefresher::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // On-demand refetches first: requests are waiting on them.
    if (!waiting_.empty()) {
      std::shared_ptr<RemoteKeys> keys = waiting_.begin()->first;
      lock.unlock();
      if (std::string why = keys->refresh(Clock::now()); !why.empty())
        log::warn("jwks: refetch failed; keeping the keys we have", {{"issuer", keys->config().name}, {"reason", why}});
      lock.lock();
      // Everyone who asked until now, including during the fetch, gets its outcome.
      auto node = waiting_.extract(keys);
      lock.unlock();
      if (!node.empty())
        for (auto& fn : node.mapped().waiters) fn();
      lock.lock();
      continue;
    }
    const auto now = Clock::now();
    auto next = now + std::chrono::hours(1);
    std::shared_ptr<RemoteKeys> due;
    for (const auto& s : sources_) {
      auto at = s->next_refresh();
      if (at <= now) {
        due = s;
        break;
      }
      next = std::min(next, at);
    }
    if (due) {
      lock.unlock();
      if (std::string why = due->refresh(now); !why.empty())
        log::warn(due->has_keys() ? "jwks: refresh failed; keeping the keys we have"
                                  : "jwks: cannot fetch keys; tokens of this issuer are refused until it answers",
                  {{"issuer", due->config().name}, {"reason", why}});
      lock.lock();
      continue;
    }
    cv_.wait_until(lock, next);
  }
}

}  // namespace pc::auth
