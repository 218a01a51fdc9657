// The GCRA lease script against a real redis-server.
#include "cluster/token_leases.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "cluster/redis_client.h"
#include "cluster/redis_server.h"

namespace pc::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Fixture {
  testing::RedisServer server;
  std::unique_ptr<RedisClient> client;
  std::unique_ptr<RedisTokenLeases> leases;
  Fixture() {
    std::string error;
    RedisClient::Options o;
    o.url = *parse_redis_url(server.url(), error);
    client = std::make_unique<RedisClient>(o);
    client->start();
    for (int i = 0; i < 300 && !client->up(); ++i) std::this_thread::sleep_for(10ms);
    leases = std::make_unique<RedisTokenLeases>(*client);
  }
  std::optional<LeaseGrant> lease(const std::string& key, double rate, double burst, std::int64_t want) {
    std::promise<std::optional<LeaseGrant>> p;
    auto f = p.get_future();
    leases->lease(key, rate, burst, want, [&p](std::optional<LeaseGrant> g) { p.set_value(g); });
    return f.get();
  }
};

TEST(TokenLeases, ScriptShaMatchesTheServers) {
  Fixture f;
  ASSERT_TRUE(f.client->up());
  auto r = f.client->call({"SCRIPT", "LOAD", RedisTokenLeases::script()});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value.str, RedisTokenLeases::script_sha1());
}

TEST(TokenLeases, BurstThenRateAndRetryAfter) {
  Fixture f;
  // rate 10/s, burst 100: 60 + 40 of a burst, then none, and the next token in ~100 ms.
  auto g1 = f.lease("t1", 10, 100, 60);
  ASSERT_TRUE(g1);
  EXPECT_EQ(g1->granted, 60);
  EXPECT_EQ(g1->remaining, 40);
  EXPECT_EQ(g1->retry_after.count(), 0);
  auto g2 = f.lease("t1", 10, 100, 60);
  ASSERT_TRUE(g2);
  EXPECT_EQ(g2->granted, 40);
  EXPECT_EQ(g2->remaining, 0);
  EXPECT_GT(g2->retry_after.count(), 80);
  EXPECT_LE(g2->retry_after.count(), 101);
  auto g3 = f.lease("t1", 10, 100, 1);
  ASSERT_TRUE(g3);
  EXPECT_EQ(g3->granted, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(g3->retry_after.count() + 5));
  auto g4 = f.lease("t1", 10, 100, 5);
  ASSERT_TRUE(g4);
  EXPECT_EQ(g4->granted, 1);  // one interval later: exactly one more token
  // Keys are independent, and the key expires once it is back to a full burst.
  auto other = f.lease("t2", 10, 100, 100);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->granted, 100);
  auto ttl = f.client->call({"PTTL", "portcullis:gcra:t1"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl.value.integer, 9000);
  EXPECT_LE(ttl.value.integer, 11000);
}

TEST(TokenLeases, ReloadsTheScriptAfterAFlush) {
  Fixture f;
  ASSERT_TRUE(f.lease("k", 5, 5, 1));
  ASSERT_TRUE(f.client->call({"SCRIPT", "FLUSH"}).ok());
  auto g = f.lease("k", 5, 5, 1);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->granted, 1);
  EXPECT_EQ(f.client->call({"SCRIPT", "EXISTS", RedisTokenLeases::script_sha1()}).value.elements.at(0).integer, 1);
}

// Four "nodes" (clients) take single tokens as fast as they can for 1.5 s: together they get
// burst + rate * elapsed, within a token or two, whatever the interleaving.
TEST(TokenLeases, SharedAcrossClientsHoldsTheGlobalRate) {
  Fixture f;
  constexpr double kRate = 200, kBurst = 20;
  std::vector<std::unique_ptr<RedisClient>> clients;
  std::vector<std::unique_ptr<RedisTokenLeases>> leases;
  for (int i = 0; i < 4; ++i) {
    std::string error;
    RedisClient::Options o;
    o.url = *parse_redis_url(f.server.url(), error);
    o.name = "lease-" + std::to_string(i);
    clients.push_back(std::make_unique<RedisClient>(o));
    clients.back()->start();
    while (!clients.back()->up()) std::this_thread::sleep_for(5ms);
    leases.push_back(std::make_unique<RedisTokenLeases>(*clients.back()));
  }
  std::atomic<std::int64_t> granted{0};
  std::atomic<bool> run{true};
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      while (run) {
        std::promise<void> p;
        leases[i]->lease("shared", kRate, kBurst, 3, [&](std::optional<LeaseGrant> g) {
          if (g) granted += g->granted;
          p.set_value();
        });
        p.get_future().wait();
      }
    });
  std::this_thread::sleep_for(1500ms);
  run = false;
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double expected = kBurst + kRate * secs;
  std::printf("[ measure ] 4 clients granted %lld tokens in %.3f s; GCRA bound %.1f\n",
              static_cast<long long>(granted.load()), secs, expected);
  EXPECT_LE(granted.load(), expected + 1);
  EXPECT_GE(granted.load(), expected * 0.97);
}

TEST(TokenLeases, InvalidArgumentsAndRedisDown) {
  Fixture f;
  auto noop = [](std::optional<LeaseGrant>) {};
  EXPECT_THROW(f.leases->lease("k", 0, 1, 1, noop), std::invalid_argument);
  EXPECT_THROW(f.leases->lease("k", 1, 0.5, 1, noop), std::invalid_argument);
  EXPECT_THROW(f.leases->lease("k", 1, 1, 0, noop), std::invalid_argument);
  f.server.kill();
  while (f.client->up()) std::this_thread::sleep_for(5ms);
  const auto t0 = Clock::now();
  EXPECT_FALSE(f.lease("k", 1, 1, 1));  // unavailable, at once: the caller uses its local share
  EXPECT_LT(Clock::now() - t0, 100ms);
}

}  // namespace
}  // namespace pc::cluster
