#include "cluster/change_bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "cluster/redis_client.h"
#include "cluster/redis_server.h"
#include "support/eventually.h"

namespace pc::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using pc::testing::eventually;

TEST(ChangeMessage, RoundTripAndRefusals) {
  Change c{"node-1", "tenant.update", "acme"};
  auto back = decode_change(encode_change(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->node, "node-1");
  EXPECT_EQ(back->kind, "tenant.update");
  EXPECT_EQ(back->tenant, "acme");
  EXPECT_FALSE(decode_change("not json"));
  EXPECT_FALSE(decode_change("[]"));
  EXPECT_FALSE(decode_change(R"({"v":2,"node":"n","kind":"k","tenant":"t"})"));
  EXPECT_FALSE(decode_change(R"({"v":1,"node":"","kind":"k","tenant":"t"})"));
  EXPECT_FALSE(decode_change(R"({"v":1,"node":"n","kind":7,"tenant":"t"})"));
}

struct Node {
  std::mutex mu;
  std::vector<Change> got;
  std::atomic<int> resyncs{0};
  std::unique_ptr<RedisClient> publisher;
  std::unique_ptr<ChangeBus> bus;
  Node(const std::string& url, const std::string& id) {
    std::string error;
    RedisClient::Options po;
    po.url = *parse_redis_url(url, error);
    po.name = "publisher";
    po.backoff_max = 200ms;
    publisher = std::make_unique<RedisClient>(po);
    publisher->start();
    ChangeBus::Options o;
    o.url = po.url;
    o.node_id = id;
    o.on_change = [this](const Change& c) {
      std::lock_guard lock(mu);
      got.push_back(c);
    };
    o.on_resync = [this] { ++resyncs; };
    bus = std::make_unique<ChangeBus>(std::move(o), *publisher);
    bus->start();
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

TEST(ChangeBus, OtherNodesHearAChangeTheSenderIgnoresItsOwn) {
  testing::RedisServer server({.password = "pw"});
  Node a(server.url(":pw"), "a"), b(server.url(":pw"), "b"), c(server.url(":pw"), "c");
  ASSERT_TRUE(eventually([&] { return a.bus->up() && b.bus->up() && c.bus->up(); }, 3s));
  EXPECT_GE(b.resyncs, 1);  // the first subscription counts as a resync
  a.bus->publish("tenant.create", "warm-up");  // the first one pays for the loggers' start
  ASSERT_TRUE(eventually([&] { return b.count() == 1 && c.count() == 1; }, 1s));
  b.got.clear();
  c.got.clear();
  const auto t0 = Clock::now();
  a.bus->publish("tenant.update", "acme");
  ASSERT_TRUE(eventually([&] { return b.count() == 1 && c.count() == 1; }, 1s));
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  std::printf("[ measure ] change seen by two other nodes after %lld us\n", static_cast<long long>(us));
  EXPECT_EQ(b.got[0].node, "a");
  EXPECT_EQ(b.got[0].kind, "tenant.update");
  EXPECT_EQ(b.got[0].tenant, "acme");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(a.count(), 0u);  // its own message is not a change from elsewhere
}

TEST(ChangeBus, MalformedMessagesAreIgnored) {
  testing::RedisServer server;
  Node b(server.url(), "b");
  ASSERT_TRUE(eventually([&] { return b.bus->up(); }, 3s));
  std::string error;
  RedisClient::Options po;
  po.url = *parse_redis_url(server.url(), error);
  RedisClient raw(po);
  raw.start();
  ASSERT_TRUE(eventually([&] { return raw.up(); }, 3s));
  ASSERT_TRUE(raw.call({"PUBLISH", "portcullis:changes", "{\"v\":1"}).ok());
  ASSERT_TRUE(raw.call({"PUBLISH", "portcullis:changes", encode_change({"x", "client.disable", "acme"})}).ok());
  ASSERT_TRUE(eventually([&] { return b.count() == 1; }, 1s));
  EXPECT_EQ(b.got[0].kind, "client.disable");
}

TEST(ChangeBus, ResubscribesAfterRedisRestartsAndAsksForAResync) {
  testing::RedisServer server;
  Node a(server.url(), "a"), b(server.url(), "b");
  ASSERT_TRUE(eventually([&] { return a.bus->up() && b.bus->up(); }, 3s));
  const int before = b.resyncs;
  server.kill();
  ASSERT_TRUE(eventually([&] { return !b.bus->up(); }, 1s));
  a.bus->publish("tenant.update", "lost");  // Redis down: dropped, never blocks
  server.restart();
  ASSERT_TRUE(eventually([&] { return a.bus->up() && b.bus->up(); }, 3s));
  EXPECT_GT(b.resyncs, before);  // the node refreshes once: it may have missed changes
  a.bus->publish("capability.put", "platform");
  ASSERT_TRUE(eventually([&] { return b.count() == 1; }, 1s));
  EXPECT_EQ(b.got[0].kind, "capability.put");
}

}  // namespace
}  // namespace pc::cluster
