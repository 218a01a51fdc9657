// The one background thread that keeps every external issuer's keys fresh: each RemoteKeys is
// refreshed when its cache time runs out, and on demand when a token names a kid nobody has
// (rate-limited per issuer by RemoteKeys::allow_refetch). Requests waiting for the same issuer
// share one fetch. Network I/O therefore never happens on an I/O thread, and a slow IdP delays
// only the requests that need its new keys.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "auth/remote_keys.h"

namespace pc::auth {

class KeyRefresher {
 public:
  // Requests that may wait for one issuer's refetch at once; more are answered "no new keys".
  static constexpr std::size_t kMaxWaiters = 4096;

  KeyRefresher();
  ~KeyRefresher();  // stop()
  KeyRefresher(const KeyRefresher&) = delete;
  KeyRefresher& operator=(const KeyRefresher&) = delete;

  // The issuers to keep fresh (replaces the previous list, e.g. after a reload). New ones are
  // fetched at once.
  void set_sources(std::vector<std::shared_ptr<RemoteKeys>> sources);

  // Asks for an early refresh of `keys`. `done` runs once: on the refresher thread after the
  // refresh, or at once on the calling thread when the refetch is rate-limited, too many requests
  // wait already, or the refresher is stopping. Either way the caller then re-checks the keys.
  void refetch(const std::shared_ptr<RemoteKeys>& keys, std::function<void()> done);

  // Fetches every source once, now, on the calling thread (start-up: so the first requests find
  // keys). Returns the failures as "issuer: reason".
  std::vector<std::string> refresh_all_now();

  // Refuses new refetches, answers every waiting one at once (before the thread's current fetch
  // ends), then joins the thread. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<RemoteKeys>> sources_;
  // Requests waiting for a source's refetch. The entry stays while the refresher thread fetches,
  // so requests arriving during the fetch join it and are answered when it ends.
  struct Pending {
    std::vector<std::function<void()>> waiters;
  };
  std::map<std::shared_ptr<RemoteKeys>, Pending> waiting_;
  bool stopping_ = false;
  std::mutex join_mu_;
  std::thread thread_;
};

}  // namespace pc::auth
