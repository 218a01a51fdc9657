// AgentHealth against real listening sockets: a runtime answering /ping, one answering 503, one
// whose port is closed, one that accepts and never answers (the timeout bounds the check), a
// runtime that comes back, an endpoint change, the background thread, and the metric.
#include "agents/agent_health.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/ports.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "core/metrics.h"

namespace pc::agents {
namespace {

using namespace std::chrono_literals;

// A runtime stand-in on 127.0.0.1: answers every request with `status` (0: accepts, reads and
// says nothing). Requests seen are counted, with the last request line.
class TinyRuntime {
 public:
  explicit TinyRuntime(int status) : status(status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyRuntime() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::atomic<int> status;
  std::atomic<int> requests{0};
  std::string last_line;  // read after requests > 0 (set before the count)
  std::uint16_t port = 0;

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string req;
      char buf[512];
      while (req.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 1000) <= 0) break;
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      last_line = req.substr(0, req.find("\r\n"));
      ++requests;
      if (const int s = status.load(); s > 0) {
        const std::string answer = "HTTP/1.1 " + std::to_string(s) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      } else {
        std::this_thread::sleep_for(600ms);  // silent past the checker's timeout
      }
      ::close(c);
    }
  }
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

using pc::testing::closed_port;

AgentEntry agent(std::string name, std::uint16_t port) {
  AgentEntry e;
  e.name = std::move(name);
  e.host = "127.0.0.1";
  e.port = port;
  return e;
}

AgentHealth::Options fast() {
  AgentHealth::Options o;
  o.interval = 50ms;
  o.timeout = 300ms;
  o.failures_to_mark_down = 2;
  return o;
}

double unavailable_metric() { return core::metrics().gauge("portcullis_agents_unavailable", "").get().value(); }

TEST(AgentHealthTest, PingAsksGetPingAndTreatsAnyAnswerBelow500AsUp) {
  TinyRuntime ok(200), not_found(404), broken(503), silent(0);
  EXPECT_TRUE(AgentHealth::ping("127.0.0.1", ok.port, 1s));
  EXPECT_EQ(ok.last_line, "GET /ping HTTP/1.1");
  EXPECT_TRUE(AgentHealth::ping("127.0.0.1", not_found.port, 1s)) << "a runtime without /ping is still alive";
  EXPECT_FALSE(AgentHealth::ping("127.0.0.1", broken.port, 1s));
  EXPECT_FALSE(AgentHealth::ping("127.0.0.1", closed_port(), 1s));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(AgentHealth::ping("127.0.0.1", silent.port, 200ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms) << "the timeout bounds a silent runtime";
  EXPECT_FALSE(AgentHealth::ping("no-such-host.invalid", 80, 500ms));
}

TEST(AgentHealthTest, StatusFollowsPingsWithAFailureThresholdAndRecovery) {
  TinyRuntime up(200), flaky(200);
  const std::uint16_t dead = closed_port();
  AgentCatalog catalog;
  catalog.publish({agent("up", up.port), agent("flaky", flaky.port), agent("dead", dead)});
  AgentHealth health(catalog, fast());
  EXPECT_EQ(health.status("up"), kUnknown) << "not pinged yet";
  EXPECT_TRUE(health.available(agent("dead", dead))) << "unknown is not evidence against an agent";

  health.check_now();
  EXPECT_EQ(health.status("up"), kAvailable);
  EXPECT_EQ(health.status("dead"), kAvailable) << "one failure is not enough";
  health.check_now();
  EXPECT_EQ(health.status("dead"), kUnavailable);
  EXPECT_FALSE(health.available(agent("dead", dead)));
  EXPECT_EQ(unavailable_metric(), 1);

  flaky.status = 502;
  health.check_now();
  health.check_now();
  EXPECT_EQ(health.status("flaky"), kUnavailable);
  EXPECT_EQ(unavailable_metric(), 2);
  flaky.status = 200;
  health.check_now();
  EXPECT_EQ(health.status("flaky"), kAvailable) << "one good answer brings it back";
  EXPECT_EQ(unavailable_metric(), 1);

  // A new promoted endpoint is unknown until pinged; an agent gone from the catalog is forgotten.
  catalog.publish({agent("up", up.port), agent("dead", flaky.port)});
  EXPECT_EQ(health.status("dead"), kUnknown);
  EXPECT_EQ(health.status("flaky"), kUnknown);
  health.check_now();
  EXPECT_EQ(health.status("dead"), kAvailable);
  EXPECT_EQ(unavailable_metric(), 0);
  EXPECT_EQ(health.status("nope"), kUnknown);
}

TEST(AgentHealthTest, TheBackgroundThreadNoticesARuntimeGoingDownAndRetryAfterFollowsTheInterval) {
  auto runtime = std::make_unique<TinyRuntime>(200);
  AgentCatalog catalog;
  catalog.publish({agent("echo", runtime->port)});
  AgentHealth::Options o = fast();
  o.interval = 1500ms;
  EXPECT_EQ(AgentHealth(catalog, o).retry_after_seconds(), 2);
  AgentHealth health(catalog, fast());
  EXPECT_EQ(health.retry_after_seconds(), 1) << "never 0";
  health.start();
  auto wait_for = [&](std::string_view want) {
    for (int i = 0; i < 200 && health.status("echo") != want; ++i) std::this_thread::sleep_for(10ms);
    return std::string(health.status("echo"));
  };
  EXPECT_EQ(wait_for(kAvailable), kAvailable);
  runtime->status = 500;
  EXPECT_EQ(wait_for(kUnavailable), kUnavailable);
  runtime->status = 200;
  EXPECT_EQ(wait_for(kAvailable), kAvailable);
  health.stop();
  health.stop();  // idempotent
}

TEST(AgentHealthTest, ASlowRuntimeDoesNotDelayTheOthers) {
  TinyRuntime silent(0), ok(200);
  AgentCatalog catalog;
  std::vector<AgentEntry> agents{agent("silent", silent.port)};
  for (int i = 0; i < 6; ++i) agents.push_back(agent("ok" + std::to_string(i), ok.port));
  catalog.publish(agents);
  AgentHealth::Options o = fast();
  o.timeout = 400ms;
  AgentHealth health(catalog, o);
  const auto start = std::chrono::steady_clock::now();
  health.check_now();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_EQ(health.status("ok5"), kAvailable);
}

// An https agent is pinged over TLS with its certificate verified (net::fetch), never in clear
// text: a plain runtime registered as https is down, and the same runtime as http is up. A
// change of scheme alone is a new endpoint: unknown until pinged.
TEST(AgentHealthTest, HttpsAgentsArePingedOverTls) {
  TinyRuntime plain(200);
  EXPECT_FALSE(AgentHealth::ping_https("127.0.0.1", plain.port, "", 1s)) << "no TLS handshake, not up";
  EXPECT_FALSE(AgentHealth::ping_https("127.0.0.1", closed_port(), "", 500ms));

  AgentEntry tls = agent("tls", plain.port);
  tls.scheme = "https";
  AgentCatalog catalog;
  catalog.publish({agent("clear", plain.port), tls});
  AgentHealth health(catalog, fast());
  health.check_now();
  health.check_now();
  EXPECT_EQ(health.status("clear"), kAvailable);
  EXPECT_EQ(health.status("tls"), kUnavailable);

  catalog.publish({agent("clear", plain.port), agent("tls", plain.port)});
  EXPECT_EQ(health.status("tls"), kUnknown) << "the scheme changed: a new endpoint";
  health.check_now();
  EXPECT_EQ(health.status("tls"), kAvailable);
}

}  // namespace
}  // namespace pc::agents
