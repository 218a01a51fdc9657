#include "auth/key_refresher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "jose/sign.h"

namespace pc::auth {
namespace {

using namespace std::chrono_literals;

std::string jwks_text() {
  static const jose::PrivateKey k = jose::PrivateKey::generate(jose::Alg::ES256, "k1");
  return boost::json::serialize(boost::json::object{{"keys", boost::json::array{k.public_jwk()}}});
}

// A door a fetch can be held at: the test sees when a fetch arrived and decides when it may go on.
class Gate {
 public:
  void pass() {
    std::unique_lock lock(mu_);
    ++arrived_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  bool wait_arrived(int n = 1, std::chrono::milliseconds timeout = 3000ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return arrived_ >= n; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  bool open_ = false;
};

// One issuer's JWKS endpoint (no discovery), counting fetches, optionally held at a gate.
struct Source {
  std::atomic<int> fetches{0};
  Gate* gate = nullptr;
  std::string cache_control = "max-age=600";
  std::shared_ptr<RemoteKeys> keys;

  explicit Source(std::string name, std::uint32_t min_seconds = 60) {
    core::IssuerConfig c;
    c.name = std::move(name);
    c.issuer = "https://" + c.name + ".test";
    c.discovery = false;
    c.jwks_uri = c.issuer + "/keys";
    c.jwks_cache.min_seconds = min_seconds;
    keys = std::make_shared<RemoteKeys>(c, [this](const std::string&) {
      ++fetches;
      if (gate) gate->pass();
      return FetchedDocument{200, cache_control, jwks_text()};
    });
  }
};

// Counts callbacks and remembers the threads they ran on.
struct Callbacks {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  std::vector<std::thread::id> threads;

  std::function<void()> make() {
    return [this] {
      std::lock_guard lock(mu);
      ++calls;
      threads.push_back(std::this_thread::get_id());
      cv.notify_all();
    };
  }
  bool wait_for(int n, std::chrono::milliseconds timeout = 3000ms) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return calls >= n; });
  }
  int count() {
    std::lock_guard lock(mu);
    return calls;
  }
};

TEST(KeyRefresher, RefetchRunsTheCallbackAfterRefreshingOnTheRefreshThread) {
  Source a("corp");
  KeyRefresher r;
  std::promise<std::pair<std::thread::id, bool>> ran;
  r.refetch(a.keys, [&] { ran.set_value({std::this_thread::get_id(), a.keys->has_keys()}); });
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
  auto [thread, had_keys] = f.get();
  EXPECT_NE(thread, std::this_thread::get_id());
  EXPECT_TRUE(had_keys) << "the callback ran before the keys were refreshed";
  EXPECT_EQ(a.fetches.load(), 1);
}

TEST(KeyRefresher, ConcurrentRefetchesForOneSourceShareOneFetch) {
  // Keep the refresh thread busy with another issuer so the refetches pile up behind it.
  Gate busy;
  Source blocker("slow");
  blocker.gate = &busy;
  Source a("corp");
  KeyRefresher r;
  r.set_sources({blocker.keys});
  ASSERT_TRUE(busy.wait_arrived());

  Callbacks cb;
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) callers.emplace_back([&] { r.refetch(a.keys, cb.make()); });
  for (auto& t : callers) t.join();
  EXPECT_EQ(cb.count(), 0) << "a caller was answered before the shared fetch ran";

  busy.open();
  ASSERT_TRUE(cb.wait_for(8));
  EXPECT_EQ(a.fetches.load(), 1);
  EXPECT_TRUE(a.keys->has_keys());
  std::lock_guard lock(cb.mu);
  for (auto id : cb.threads) EXPECT_NE(id, std::this_thread::get_id());
}

TEST(KeyRefresher, RateLimitedRefetchCallsBackAtOnce) {
  Source a("corp");  // one refetch per 30 s
  KeyRefresher r;
  Callbacks first;
  r.refetch(a.keys, first.make());
  ASSERT_TRUE(first.wait_for(1));
  ASSERT_EQ(a.fetches.load(), 1);

  bool ran_inline = false;
  r.refetch(a.keys, [&] { ran_inline = true; });
  EXPECT_TRUE(ran_inline) << "a rate-limited refetch must answer on the calling thread, at once";
  EXPECT_EQ(a.fetches.load(), 1);
}

TEST(KeyRefresher, ARefetchArrivingWhileTheFetchIsInFlightWaitsForIt) {
  Gate gate;
  Source a("corp");
  a.gate = &gate;
  KeyRefresher r;
  Callbacks cb;
  r.refetch(a.keys, cb.make());
  ASSERT_TRUE(gate.wait_arrived());  // the refresh thread is fetching a's keys now

  std::atomic<bool> answered{false};
  std::atomic<bool> had_keys{false};
  r.refetch(a.keys, [&] {
    had_keys = a.keys->has_keys();
    answered = true;
  });
  EXPECT_FALSE(answered.load());  // it waits for the fetch under way, not answered as rate-limited
  gate.open();
  ASSERT_TRUE(cb.wait_for(1));
  for (int i = 0; i < 300 && !answered; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(answered);
  EXPECT_TRUE(had_keys);
  EXPECT_EQ(a.fetches.load(), 1);
}

TEST(KeyRefresher, TooManyWaitersAreAnsweredAtOnce) {
  Gate busy;
  Source blocker("slow");
  blocker.gate = &busy;
  Source a("corp");
  KeyRefresher r;
  r.set_sources({blocker.keys});
  ASSERT_TRUE(busy.wait_arrived());

  Callbacks cb;
  for (std::size_t i = 0; i < KeyRefresher::kMaxWaiters; ++i) r.refetch(a.keys, cb.make());
  EXPECT_EQ(cb.count(), 0);
  bool inline_answer = false;
  r.refetch(a.keys, [&] { inline_answer = true; });
  EXPECT_TRUE(inline_answer);
  busy.open();
  ASSERT_TRUE(cb.wait_for(static_cast<int>(KeyRefresher::kMaxWaiters)));
  EXPECT_EQ(a.fetches.load(), 1);
}

TEST(KeyRefresher, StopRunsPendingCallbacks) {
  Gate busy;
  Source blocker("slow");
  blocker.gate = &busy;
  Source a("corp");
  auto r = std::make_unique<KeyRefresher>();
  r->set_sources({blocker.keys});
  ASSERT_TRUE(busy.wait_arrived());

  Callbacks cb;
  for (int i = 0; i < 3; ++i) r->refetch(a.keys, cb.make());
  ASSERT_EQ(cb.count(), 0);

  // stop() takes the pending callbacks, then waits for the refresh thread (held at the gate).
  auto stopping = std::async(std::launch::async, [&] { r->stop(); });
  // Once stop() has begun, a refetch is answered on the calling thread: probe for that moment.
  int probes = 0;
  for (;;) {
    // Shared, not a local the callback points at: a probe queued just before stop() began is
    // answered later, by stop(), after this iteration's locals are gone.
    auto inline_answer = std::make_shared<std::atomic<bool>>(false);
    const auto caller = std::this_thread::get_id();
    r->refetch(a.keys, [inline_answer, caller, p = cb.make()] {
      if (std::this_thread::get_id() == caller) *inline_answer = true;
      p();
    });
    ++probes;
    if (*inline_answer) break;
    ASSERT_LT(probes, 100000) << "stop() never began";
    std::this_thread::sleep_for(1ms);
  }
  busy.open();
  ASSERT_EQ(stopping.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(cb.count(), 3 + probes) << "every pending callback runs exactly once";
  EXPECT_EQ(a.fetches.load(), 0);

  // After stop, refetches answer at once; a second stop (and the destructor) are harmless.
  bool after = false;
  r->refetch(a.keys, [&] { after = true; });
  EXPECT_TRUE(after);
  r->stop();
  r.reset();
  EXPECT_EQ(cb.count(), 3 + probes);
}

// At shutdown the waiters (token jobs on a work pool) are answered at once, not after the fetch
// under way ends (up to its timeout): the pools' stop must not wait out a hanging issuer.
TEST(KeyRefresher, StopAnswersWaitersWithoutWaitingForTheFetchUnderWay) {
  Gate hanging;
  Source a("corp");
  a.gate = &hanging;
  KeyRefresher r;
  Callbacks cb;
  r.refetch(a.keys, cb.make());
  ASSERT_TRUE(hanging.wait_arrived());  // the refetch is being fetched, and hangs
  std::thread stopper([&] { r.stop(); });
  EXPECT_TRUE(cb.wait_for(1, 1000ms)) << "stop() waited for the hanging fetch before answering its waiters";
  hanging.open();
  stopper.join();
  EXPECT_EQ(cb.count(), 1);
}

TEST(KeyRefresher, ScheduledRefreshHappensWhenDue) {
  Source a("corp", /*min_seconds=*/1);
  a.cache_control = "max-age=1";
  KeyRefresher r;
  r.set_sources({a.keys});  // new sources are fetched at once
  // Wait for the published keys, not the fetch count: the count moves before the set is parsed
  // and published.
  for (int i = 0; i < 100 && !a.keys->has_keys(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GE(a.fetches.load(), 1);
  EXPECT_TRUE(a.keys->has_keys());
  const auto start = std::chrono::steady_clock::now();
  while (a.fetches.load() < 2 && std::chrono::steady_clock::now() - start < 3s) std::this_thread::sleep_for(10ms);
  EXPECT_GE(a.fetches.load(), 2) << "no refresh within 3 s of a 1 s max-age";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 500ms) << "refreshed long before it was due";
}

TEST(KeyRefresher, SourcesNotYetDueAreLeftAlone) {
  Source a("corp");  // max-age 600
  KeyRefresher r;
  r.set_sources({a.keys});
  for (int i = 0; i < 100 && a.fetches.load() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(a.fetches.load(), 1);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(a.fetches.load(), 1);
}

TEST(KeyRefresher, RefreshAllNowReportsFailuresByIssuer) {
  Source good("good");
  core::IssuerConfig c;
  c.name = "down";
  c.issuer = "https://down.test";
  c.discovery = false;
  c.jwks_uri = "https://down.test/keys";
  auto down = std::make_shared<RemoteKeys>(c, [](const std::string&) -> FetchedDocument {
    throw std::runtime_error("connect: connection refused");
  });
  KeyRefresher r;
  r.stop();  // keep the background thread out of it: this call alone fetches
  r.set_sources({good.keys, down});
  auto failures = r.refresh_all_now();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].rfind("down: ", 0), 0u) << failures[0];
  EXPECT_NE(failures[0].find("connection refused"), std::string::npos);
  EXPECT_TRUE(good.keys->has_keys());
  EXPECT_EQ(good.fetches.load(), 1);
  EXPECT_FALSE(down->has_keys());
}

}  // namespace
}  // namespace pc::auth
