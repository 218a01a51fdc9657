// net::call_upstream against scripted upstreams on real loopback sockets: buffered and streamed
// answers, calls from a handler (an I/O thread) and from other threads, keep-alive reuse, and the
// failures a caller must be able to tell apart — refused, timed out, too large, broken off,
// cancelled — each reported exactly once.
#include "net/upstream_call.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "net/server.h"

namespace pc::net {
namespace {

using namespace std::chrono_literals;

const bool kNoSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// One step of an answer: wait, send bytes, maybe close.
struct Step {
  std::string bytes;
  int pause_ms = 0;
  bool close = false;
};

// Answers every request on every connection with the same script; counts connections and keeps
// the requests it read.
class Upstream {
 public:
  explicit Upstream(std::vector<Step> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    EXPECT_EQ(::listen(fd_, 64), 0);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~Upstream() {
    stop_ = true;
    thread_.join();
    for (auto& t : handlers_) t.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++connections_;
      handlers_.emplace_back([this, c] { serve(c); });
    }
  }
  void serve(int c) {
    std::string buf;
    for (;;) {
      // A request: the head, then Content-Length bytes.
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!read_some(c, buf)) return (void)::close(c);
      }
      std::size_t length = 0;
      const auto cl = buf.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(buf.substr(cl + 16));
      while (buf.size() < end + 4 + length)
        if (!read_some(c, buf)) return (void)::close(c);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(buf.substr(0, end + 4 + length));
      }
      buf.erase(0, end + 4 + length);
      for (const auto& s : script_) {
        for (int waited = 0; waited < s.pause_ms && !stop_; waited += 5) std::this_thread::sleep_for(5ms);
        if (!s.bytes.empty()) ::send(c, s.bytes.data(), s.bytes.size(), MSG_NOSIGNAL);
        if (s.close) return (void)::close(c);
      }
    }
  }
  bool read_some(int c, std::string& buf) {
    char chunk[4096];
    for (;;) {
      if (stop_) return false;
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  }

  std::vector<Step> script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::vector<std::thread> handlers_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

std::string json_answer(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Extra: yes\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}
std::string chunk(std::string_view s) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", s.size());
  return std::string(size) + "\r\n" + std::string(s) + "\r\n";
}

// A running gateway server whose route /call makes one call_upstream from its handler (an I/O
// thread) to the upstream named in the query, and answers with what came back.
class CallFixture : public ::testing::Test {
 protected:
  void start(std::uint32_t response_timeout_ms = 2000) {
    core::Config c;
    c.server.listen = "127.0.0.1:0";
    c.server.threads = 2;
    c.server.upstream.connect_timeout_ms = 1000;
    c.server.upstream.response_timeout_ms = response_timeout_ms;
    c.log.access = false;
    auto router = std::make_shared<Router>();
    router->add("GET", "/call", [](std::shared_ptr<Request> req, Responder reply) {
      UpstreamCall call;
      call.host = "127.0.0.1";
      call.port = static_cast<std::uint16_t>(std::stoi(req->query));
      call.target = "/mcp";
      call.body = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
      call.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer minted"}};
      call_upstream(std::move(call), [reply](UpstreamReply&& r) mutable {
        Response res = Response::json(r.error.empty() ? 200 : 502, r.error.empty() ? r.body : r.error);
        reply(std::move(res));
      });
    });
    server_ = std::make_unique<Server>(c, router);
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->shutdown(100ms);
  }
  FetchResult get(std::uint16_t upstream_port) {
    FetchOptions o;
    o.timeout = 5s;
    return fetch("http://" + server_->address() + "/call?" + std::to_string(upstream_port), o);
  }
  // A call from this (non-I/O) thread; waits for done.
  UpstreamReply call_here(UpstreamCall call, int* done_count = nullptr) {
    std::promise<UpstreamReply> p;
    auto f = p.get_future();
    auto count = std::make_shared<std::atomic<int>>(0);
    call_upstream(std::move(call), [&p, count](UpstreamReply&& r) {
      if (count->fetch_add(1) == 0) p.set_value(std::move(r));
    });
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    std::this_thread::sleep_for(20ms);
    if (done_count) *done_count = count->load();
    return f.get();
  }
  static UpstreamCall to(const Upstream& up) {
    UpstreamCall c;
    c.host = "127.0.0.1";
    c.port = up.port();
    c.target = "/mcp";
    c.upstream_name = "test";
    return c;
  }
  std::unique_ptr<Server> server_;
};

TEST_F(CallFixture, FromAHandlerTheAnswerIsBufferedAndConnectionsAreReused) {
  Upstream up({{json_answer(R"({"jsonrpc":"2.0","id":1,"result":{}})")}});
  start();
  for (int i = 0; i < 3; ++i) {
    auto r = get(up.port());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"jsonrpc":"2.0","id":1,"result":{}})");
  }
  // Each of the two I/O threads opens at most one connection; the rest reuse them.
  EXPECT_LE(up.connections(), 2);
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_NE(reqs[0].find("POST /mcp HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].find("Authorization: Bearer minted\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].find("Content-Length: 40\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].find(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"), std::string::npos);
}

TEST_F(CallFixture, FromAnotherThreadWithStatusHeadersAndBody) {
  Upstream up({{"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nMcp-Session-Id: abc\r\nContent-Length: 4\r\n\r\ngone"}});
  start();
  int count = 0;
  auto r = call_here(to(up), &count);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "text/plain");
  ASSERT_NE(r.header("mcp-session-id"), nullptr);
  EXPECT_EQ(*r.header("mcp-session-id"), "abc");
  EXPECT_EQ(r.body, "gone");
}

TEST_F(CallFixture, CallerHeadersCannotSmuggleFramingOrLines) {
  Upstream up({{json_answer("{}")}});
  start();
  auto c = to(up);
  c.body = "{}";
  c.headers = {{"Content-Length", "0"}, {"Host", "evil"}, {"X-Bad", "a\r\nInjected: 1"}, {"X-Good", "1"}};
  auto r = call_here(c);
  EXPECT_EQ(r.status, 200);
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].find("Host: evil"), std::string::npos);
  EXPECT_EQ(reqs[0].find("Injected"), std::string::npos);
  EXPECT_EQ(reqs[0].find("Content-Length: 0"), std::string::npos);
  EXPECT_NE(reqs[0].find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].find("X-Good: 1\r\n"), std::string::npos);
}

TEST_F(CallFixture, StreamedBodyArrivesPieceByPieceBeforeTheEnd) {
  Upstream up({{"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"},
               {chunk("data: one\n\n")},
               {chunk("data: two\n\n"), 400},
               {"0\r\n\r\n"}});
  start();
  auto c = to(up);
  std::mutex mu;
  std::string got;
  std::atomic<int> heads{0};
  std::chrono::steady_clock::time_point first_piece{};
  c.on_head = [&](const UpstreamReply& h) {
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.content_type, "text/event-stream");
    ++heads;
  };
  c.on_body = [&](std::string_view piece) {
    std::lock_guard lock(mu);
    if (got.empty()) first_piece = std::chrono::steady_clock::now();
    got += piece;
    return true;
  };
  const auto started = std::chrono::steady_clock::now();
  auto r = call_here(c);
  const auto ended = std::chrono::steady_clock::now();
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(heads.load(), 1);
  EXPECT_EQ(got, "data: one\n\ndata: two\n\n");
  // The first event was handed over well before the second (400 ms later) arrived.
  EXPECT_LT(first_piece - started, ended - started - 250ms);
}

TEST_F(CallFixture, OnBodyFalseStopsTheCall) {
  Upstream up({{"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"},
               {chunk("data: one\n\n")},
               {chunk("data: two\n\n"), 3000}});
  start();
  auto c = to(up);
  c.on_body = [](std::string_view) { return false; };
  const auto started = std::chrono::steady_clock::now();
  auto r = call_here(c);
  EXPECT_EQ(r.error, "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(CallFixture, CancelEndsAHangingCallOnceWithCancelled) {
  Upstream up({{"", 10000}});
  start();
  std::promise<UpstreamReply> p;
  auto f = p.get_future();
  std::atomic<int> count{0};
  auto handle = call_upstream(to(up), [&](UpstreamReply&& r) {
    if (count.fetch_add(1) == 0) p.set_value(std::move(r));
  });
  std::this_thread::sleep_for(200ms);
  handle->cancel();
  handle->cancel();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(f.get().error, "cancelled");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(count.load(), 1);
}

TEST_F(CallFixture, SlowUpstreamTimesOut) {
  Upstream up({{json_answer("{}"), 3000}});
  start();
  auto c = to(up);
  c.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto r = call_here(c);
  EXPECT_EQ(r.error, "upstream_timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(CallFixture, TooLargeBodyIsABadResponse) {
  Upstream up({{json_answer(std::string(5000, 'x'))}});
  start();
  auto c = to(up);
  c.max_body_bytes = 1000;
  auto r = call_here(c);
  EXPECT_EQ(r.error, "upstream_bad_response");
  EXPECT_TRUE(r.body.empty());
}

TEST_F(CallFixture, BrokenOffBodyIsBroken) {
  Upstream up({{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":", 0, true}});
  start();
  auto r = call_here(to(up));
  EXPECT_EQ(r.error, "upstream_broken");
}

TEST_F(CallFixture, NotHttpIsABadResponse) {
  Upstream up({{"SSH-2.0-OpenSSH\r\n\r\n", 0, true}});
  start();
  auto r = call_here(to(up));
  EXPECT_EQ(r.error, "upstream_bad_response");
}

TEST_F(CallFixture, RefusedConnectionIsUnavailable) {
  start();
  UpstreamCall c;
  c.host = "127.0.0.1";
  {
    Upstream gone({});
    c.port = gone.port();
  }
  auto r = call_here(c);
  EXPECT_EQ(r.error, "upstream_unavailable");
  c.scheme = "ftp";
  EXPECT_EQ(call_here(c).error, "upstream_unavailable");
}

TEST_F(CallFixture, InterimAnswersAreSkippedToTheFinalOne) {
  Upstream up({{"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"},
               {"HTTP/1.1 100 Continue\r\n\r\n", 20},
               {json_answer(R"({"ok":true})")}});
  start();
  auto r = call_here(to(up));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ok":true})");
}

TEST_F(CallFixture, StrayBytesAfterAnAnswerNeverReachTheNextCall) {
  // The upstream sends a second, unasked-for answer after the first: the connection must not go
  // back to the pool, or the next caller would read the stray answer as its own.
  Upstream up({{json_answer(R"({"n":1})") + json_answer(R"({"stray":true})")}});
  start();
  for (int i = 0; i < 3; ++i) {
    auto r = call_here(to(up));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.body, R"({"n":1})");
  }
}

TEST_F(CallFixture, HalfAHeadThenCloseIsABadResponse) {
  Upstream up({{"HTTP/1.1 200 OK\r\nContent-Ty", 0, true}});
  start();
  EXPECT_EQ(call_here(to(up)).error, "upstream_bad_response");
}

TEST_F(CallFixture, AHeadThatNeverEndsTimesOut) {
  // A head trickled forever (one header line at a time) is bounded by the call's timeout.
  std::vector<Step> trickle{{"HTTP/1.1 200 OK\r\n"}};
  for (int i = 0; i < 100; ++i) trickle.push_back({"X-Flood-" + std::to_string(i) + ": y\r\n", 20});
  Upstream up(trickle);
  start();
  auto c = to(up);
  c.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(call_here(c).error, "upstream_timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(CallFixture, AnEndlessInterimFloodIsABadResponse) {
  std::vector<Step> flood;
  for (int i = 0; i < 40; ++i) flood.push_back({"HTTP/1.1 103 Early Hints\r\n\r\n"});
  Upstream up(flood);
  start();
  EXPECT_EQ(call_here(to(up)).error, "upstream_bad_response");
}

TEST_F(CallFixture, AnEndlessBodyIsCutAtItsLimit) {
  // A chunked body that never ends: buffered calls stop at max_body_bytes, memory bounded.
  std::vector<Step> flood{{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"}};
  for (int i = 0; i < 200; ++i) flood.push_back({chunk(std::string(8192, 'x'))});
  Upstream up(flood);
  start();
  auto c = to(up);
  c.max_body_bytes = 64 * 1024;
  auto r = call_here(c);
  EXPECT_EQ(r.error, "upstream_bad_response");
  EXPECT_TRUE(r.body.empty());
}

TEST(UpstreamCall, WithoutARunningServerFailsAtOnce) {
  UpstreamCall c;
  c.host = "127.0.0.1";
  c.port = 1;
  std::atomic<int> count{0};
  std::string error;
  call_upstream(c, [&](UpstreamReply&& r) {
    ++count;
    error = r.error;
  });
  EXPECT_EQ(count.load(), 1);
  EXPECT_EQ(error, "upstream_unavailable");
}

}  // namespace
}  // namespace pc::net
