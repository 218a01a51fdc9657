// RedisClient against a real redis-server (plain, password, ACL user, TLS), and what happens when
// the server dies, hangs or comes back.
#include "cluster/redis_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "cluster/redis_peer.h"
#include "cluster/redis_server.h"
#include "support/eventually.h"
#include "core/metrics.h"

namespace pc::cluster {
namespace {

using namespace std::chrono_literals;
using testing::RedisServer;
using Clock = std::chrono::steady_clock;

RedisClient::Options opts(const std::string& url, const std::string& name, const std::string& ca = "") {
  std::string error;
  auto u = parse_redis_url(url, error);
  EXPECT_TRUE(u) << error;
  RedisClient::Options o;
  o.url = u.value_or(RedisUrl{});
  o.ca_file = ca;
  o.name = name;
  o.command_timeout = 500ms;
  o.connect_timeout = 500ms;
  o.backoff_initial = 50ms;
  o.backoff_max = 200ms;
  return o;
}

using pc::testing::eventually;

std::string metric_line(const std::string& name, const std::string& conn) {
  const std::string text = core::metrics().render();
  const std::string key = name + "{connection=\"" + conn + "\"} ";
  auto at = text.find(key);
  if (at == std::string::npos) return "";
  return text.substr(at + key.size(), text.find('\n', at) - at - key.size());
}

TEST(RedisClient, CommandsAndPipelining) {
  RedisServer server;
  RedisClient c(opts(server.url(), "t-plain"));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  EXPECT_EQ(metric_line("portcullis_redis_up", "t-plain"), "1");
  auto set = c.call({"SET", "k", std::string("v\r\n\0x", 5)});
  ASSERT_TRUE(set.ok()) << set.error();
  auto get = c.call({"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get.value.str, std::string("v\r\n\0x", 5));
  auto err = c.call({"NOSUCHCOMMAND"});
  EXPECT_TRUE(err.failure.empty());
  EXPECT_TRUE(err.value.is_error());
  EXPECT_FALSE(err.ok());

  // 10,000 INCRs issued without waiting: each answer in order, one write per batch.
  constexpr int kN = 10000;
  std::mutex mu;
  std::vector<std::int64_t> seen;
  std::atomic<int> done{0};
  const auto t0 = Clock::now();
  for (int i = 0; i < kN; ++i)
    c.command({"INCR", "n"}, [&](RedisReply r) {
      std::lock_guard lock(mu);
      seen.push_back(r.ok() ? r.value.integer : -1);
      ++done;
    });
  ASSERT_TRUE(eventually([&] { return done == kN; }, 10s));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  for (int i = 0; i < kN; ++i) ASSERT_EQ(seen[i], i + 1);
  std::printf("[ measure ] %d pipelined INCRs in %lld ms\n", kN, static_cast<long long>(ms));
  EXPECT_LT(ms, 5000);
}

TEST(RedisClient, PasswordAndAclUser) {
  RedisServer server({.password = "s3cret"});
  {
    RedisClient c(opts(server.url(":s3cret"), "t-auth"));
    c.start();
    ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
    ASSERT_TRUE(c.call({"ACL", "SETUSER", "app", "on", ">apppw", "~*", "+@all"}).ok());
  }
  RedisClient user(opts(server.url("app:apppw"), "t-acl"));
  user.start();
  ASSERT_TRUE(eventually([&] { return user.up(); }, 3s));
  auto who = user.call({"ACL", "WHOAMI"});
  ASSERT_TRUE(who.ok()) << who.error();
  EXPECT_EQ(who.value.str, "app");
}

TEST(RedisClient, WrongOrMissingPasswordNeverComesUpAndFailsFast) {
  RedisServer server({.password = "s3cret"});
  for (const std::string& userinfo : {std::string(":wrong"), std::string()}) {
    RedisClient c(opts(server.url(userinfo), "t-badauth"));
    c.start();
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(c.up()) << userinfo;
    const auto t0 = Clock::now();
    auto r = c.call({"PING"});
    EXPECT_EQ(r.failure, "redis unavailable");
    EXPECT_LT(Clock::now() - t0, 100ms);  // nothing waits on a Redis that is not there
    EXPECT_EQ(metric_line("portcullis_redis_up", "t-badauth"), "0");
  }
}

TEST(RedisClient, Tls) {
  RedisServer server({.password = "tlspw", .tls = true});
  RedisClient c(opts(server.url(":tlspw"), "t-tls", server.ca_file()));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 5s));
  ASSERT_TRUE(c.call({"SET", "tls", "yes"}).ok());
  EXPECT_EQ(c.call({"GET", "tls"}).value.str, "yes");

  // The system trust store does not know the test CA: refused, never up.
  RedisClient untrusted(opts(server.url(":tlspw"), "t-tls-untrusted"));
  untrusted.start();
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(untrusted.up());

  // Plain RESP to a TLS port is no connection either.
  RedisClient plain(opts("redis://:tlspw@127.0.0.1:" + std::to_string(server.port()), "t-tls-plain"));
  plain.start();
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(plain.up());
}

TEST(RedisClient, ServerKilledAndRestarted) {
  RedisServer server;
  RedisClient c(opts(server.url(), "t-restart"));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  const std::string before = metric_line("portcullis_redis_disconnects_total", "t-restart");  // the registry is per process
  server.kill();
  ASSERT_TRUE(eventually([&] { return !c.up(); }, 1s));
  EXPECT_EQ(metric_line("portcullis_redis_up", "t-restart"), "0");
  EXPECT_EQ(std::stoi(metric_line("portcullis_redis_disconnects_total", "t-restart")), std::stoi(before) + 1);
  const auto t0 = Clock::now();
  EXPECT_FALSE(c.call({"PING"}).ok());
  EXPECT_LT(Clock::now() - t0, 100ms);
  server.restart();
  const auto t1 = Clock::now();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  std::printf("[ measure ] reconnected %lld ms after the restart\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t1).count()));
  EXPECT_TRUE(c.call({"PING"}).ok());
  EXPECT_EQ(metric_line("portcullis_redis_up", "t-restart"), "1");
}

TEST(RedisClient, HungServerTimesOutAndRecovers) {
  RedisServer server;
  RedisClient c(opts(server.url(), "t-hung"));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  server.pause();  // SIGSTOP: the socket stays open, nothing answers
  const auto t0 = Clock::now();
  auto r = c.call({"PING"});
  const auto waited = Clock::now() - t0;
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.failure.find("no reply within 500 ms"), std::string::npos) << r.failure;
  EXPECT_LT(waited, 2500ms);  // 500 ms timeout + the watchdog tick, with room for a loaded runner
  EXPECT_FALSE(c.up());
  server.resume();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  EXPECT_TRUE(c.call({"PING"}).ok());
}

TEST(RedisClient, StopAnswersEverythingAndIsIdempotent) {
  RedisServer server;
  RedisClient c(opts(server.url(), "t-stop"));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  server.pause();
  std::atomic<int> answered{0};
  for (int i = 0; i < 50; ++i) c.command({"PING"}, [&](RedisReply r) { answered += r.ok() ? 0 : 1; });
  std::this_thread::sleep_for(50ms);
  c.stop();
  EXPECT_EQ(answered, 50);
  c.stop();
  EXPECT_EQ(c.call({"PING"}).failure, "stopped");
  server.resume();
}

// ---- peers that misbehave (raw sockets, testing::RawRedisPeer)

TEST(RedisPeer, GarbageReplyFailsTheCommandDropsTheConnectionAndRecovers) {
  testing::RawRedisPeer peer([](int index, int fd, const std::atomic<bool>& stop) {
    if (index == 0) {
      testing::RawRedisPeer::handshake(fd, stop);
      testing::RawRedisPeer::read_some(fd, stop);
      testing::RawRedisPeer::send_all(fd, "?not resp at all\r\n");
      return;
    }
    testing::RawRedisPeer::answer_pings(fd, stop);
  });
  RedisClient c(opts(peer.url(), "t-garbage"));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  auto r = c.call({"PING"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.failure.find("protocol error"), std::string::npos) << r.failure;
  ASSERT_TRUE(eventually([&] { return c.up() && peer.connections() >= 2; }, 3s));
  auto again = c.call({"PING"});
  EXPECT_TRUE(again.ok()) << again.error();
  EXPECT_TRUE(again.value.is("PONG"));
}

TEST(RedisPeer, HalfAReplyThenSilenceTimesOut) {
  testing::RawRedisPeer peer([](int index, int fd, const std::atomic<bool>& stop) {
    testing::RawRedisPeer::handshake(fd, stop);
    testing::RawRedisPeer::read_some(fd, stop);
    if (index == 0) testing::RawRedisPeer::send_all(fd, "$5\r\nhel");  // and never the rest
  });
  RedisClient c(opts(peer.url(), "t-half"));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  const auto t0 = Clock::now();
  auto r = c.call({"GET", "k"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.failure.find("no reply within 500 ms"), std::string::npos) << r.failure;
  EXPECT_LT(Clock::now() - t0, 2500ms);
}

TEST(RedisPeer, AFloodedHugeReplyIsCutOffAtTheReadersBound) {
  std::atomic<std::size_t> sent{0};
  testing::RawRedisPeer peer([&sent](int index, int fd, const std::atomic<bool>& stop) {
    testing::RawRedisPeer::handshake(fd, stop);
    testing::RawRedisPeer::read_some(fd, stop);
    if (index != 0) return;
    if (!testing::RawRedisPeer::send_all(fd, "$1000000000\r\n")) return;
    const std::string chunk(64 * 1024, 'x');
    while (!stop && sent < (std::size_t{256} << 20) && testing::RawRedisPeer::send_all(fd, chunk)) sent += chunk.size();
  });
  RedisClient c(opts(peer.url(), "t-flood"));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  auto r = c.call({"GET", "k"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.failure.find("larger than 8 MiB"), std::string::npos) << r.failure;
  // The client read at most its bound (plus the kernel's socket buffers) before dropping the peer.
  EXPECT_TRUE(eventually([&] { return sent.load() < (std::size_t{64} << 20); }, 2s)) << sent.load();
}

TEST(RedisPeer, StrayBytesWhileIdleAreIgnored) {
  testing::RawRedisPeer peer([](int, int fd, const std::atomic<bool>& stop) {
    testing::RawRedisPeer::handshake(fd, stop);
    testing::RawRedisPeer::send_all(fd, "+OK\r\n:7\r\n");  // unasked replies, while nothing waits
    testing::RawRedisPeer::answer_pings(fd, stop);
  });
  RedisClient c(opts(peer.url(), "t-stray"));
  c.start();
  ASSERT_TRUE(eventually([&] { return c.up(); }, 3s));
  std::this_thread::sleep_for(200ms);  // let the stray replies arrive while nothing waits
  auto r = c.call({"PING"});
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r.value.is("PONG"));
  EXPECT_EQ(peer.connections(), 1);
}

}  // namespace
}  // namespace pc::cluster
