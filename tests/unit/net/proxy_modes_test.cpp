// The proxy's modes (issue 9) against scripted misbehaving upstreams on real sockets: a raw
// server (plain, or OpenSSL on top with a certificate made here; IPv4 or IPv6 loopback) that
// answers each request with timed steps — bytes, pauses, a close — and a client on its own
// thread that timestamps what it receives. What each test asks: does the client get a clear,
// well-framed answer when the upstream misbehaves, does on_outcome say what happened, and does
// the upstream's identity get checked before a byte of the request leaves the gateway?
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/detail/server_state.h"
#include "net/detail/sse.h"
#include "net/http.h"
#include "support/temp_dir.h"
#include "support/test_cert.h"

namespace pc::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using pc::testing::Cert;
using pc::testing::make_cert;
using pc::testing::server_tls;
using pc::testing::SslCtx;

// A TLS peer that closes makes SSL_write raise SIGPIPE; the gateway itself ignores it in main().
const bool kNoSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// ---- the scripted upstream -------------------------------------------------------------------

// One step of an answer: wait `pause_ms`, send `bytes`, and close the connection if `close`.
struct Step {
  std::string bytes;
  int pause_ms = 0;
  bool close = false;
};
using Script = std::vector<Step>;  // the answer to one request; the connection closes after the last script

class Upstream {
 public:
  Upstream(std::vector<Script> scripts, SSL_CTX* tls = nullptr, bool v6 = false)
      : scripts_(std::move(scripts)), tls_(tls) {
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      socklen_t len = sizeof a;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin6_port);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      socklen_t len = sizeof a;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    }
    EXPECT_TRUE(bound_) << "cannot bind the " << (v6 ? "IPv6" : "IPv4") << " loopback: " << std::strerror(errno);
    EXPECT_EQ(::listen(fd_, 16), 0);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~Upstream() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : handlers_) t.join();
    ::close(fd_);
  }

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // The upstream saw its connection closed by the gateway while it was still answering.
  bool saw_hangup() const { return hangup_; }

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

  // Reads into `buf` once; false on close, error or stop.
  bool read_some(int c, SSL* ssl, std::string& buf) {
    char chunk[4096];
    for (;;) {
      if (stop_) return false;
      if (!ssl || SSL_pending(ssl) == 0) {
        pollfd p{c, POLLIN, 0};
        const int r = ::poll(&p, 1, 20);
        if (r < 0) return false;
        if (r == 0) continue;
      }
      const long n = ssl ? SSL_read(ssl, chunk, sizeof chunk) : ::recv(c, chunk, sizeof chunk, 0);
      if (n > 0) {
        buf.append(chunk, static_cast<std::size_t>(n));
        return true;
      }
      if (ssl && SSL_get_error(ssl, static_cast<int>(n)) == SSL_ERROR_WANT_READ) continue;
      return false;
    }
  }

  std::string read_request(int c, SSL* ssl, std::string& buf) {
    for (;;) {
      auto end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        auto cl = buf.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(buf.substr(cl + 16));
        if (buf.size() >= end + 4 + length) {
          std::string req = buf.substr(0, end + 4 + length);
          buf.erase(0, end + 4 + length);
          return req;
        }
      }
      if (!read_some(c, ssl, buf)) return {};
    }
  }

  bool send_all(int c, SSL* ssl, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      const long n = ssl ? SSL_write(ssl, s.data() + off, static_cast<int>(s.size() - off))
                         : ::send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // While pausing, notices the gateway hanging up (a read of 0 bytes or an error).
  void pause(int c, int ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < until && !stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 5) == 1) {
        char b;
        if (::recv(c, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
          hangup_ = true;
          return;
        }
      }
    }
  }

  void serve(int c) {
    SSL* ssl = nullptr;
    if (tls_) {
      ssl = SSL_new(tls_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) <= 0) {  // the gateway refused our certificate
        SSL_free(ssl);
        ::close(c);
        return;
      }
    }
    std::string buf;
    for (;;) {
      std::string req = read_request(c, ssl, buf);
      if (req.empty()) break;
      Script script;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
        if (next_ >= scripts_.size()) break;
        script = scripts_[next_++];
      }
      bool closed = false;
      for (const auto& step : script) {
        if (step.pause_ms) pause(c, step.pause_ms);
        if (!step.bytes.empty() && !send_all(c, ssl, step.bytes)) {
          closed = true;
          break;
        }
        if (step.close) {
          closed = true;
          break;
        }
      }
      if (closed) break;
    }
    if (ssl) SSL_free(ssl);
    ::close(c);
  }

  std::vector<Script> scripts_;
  std::size_t next_ = 0;
  SSL_CTX* tls_;
  std::vector<std::string> requests_;
  std::mutex mu_;
  int fd_ = -1;
  bool bound_ = false;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> hangup_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> handlers_;
};

std::string json_ok(std::string_view body, int status = 200) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}
constexpr std::string_view kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
std::string chunk(std::string_view s) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", s.size());
  return std::string(size) + "\r\n" + std::string(s) + "\r\n";
}
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// ---- the gateway side ------------------------------------------------------------------------

// What the client received, and when each piece arrived (ms after the call started).
struct Received {
  std::string raw;
  std::vector<std::pair<long, std::string>> pieces;
  int status = 0;
  std::string head;
  std::string body;     // de-chunked
  bool complete = false;  // a chunked body ended with its last chunk, or a length body was whole
};

void parse(Received& r) {
  const auto end = r.raw.find("\r\n\r\n");
  if (r.raw.size() < 12 || end == std::string::npos) return;
  r.status = std::stoi(r.raw.substr(9, 3));
  r.head = r.raw.substr(0, end);
  const std::string rest = r.raw.substr(end + 4);
  if (r.head.find("Transfer-Encoding: chunked") == std::string::npos) {
    const auto cl = r.head.find("Content-Length: ");
    if (cl == std::string::npos) {
      r.body = rest;
      return;
    }
    const std::size_t n = std::stoul(r.head.substr(cl + 16));
    r.body = rest.substr(0, n);
    r.complete = rest.size() >= n;
    return;
  }
  std::size_t i = 0;
  for (;;) {
    const auto eol = rest.find("\r\n", i);
    if (eol == std::string::npos) return;
    const std::size_t n = std::stoul(rest.substr(i, eol - i), nullptr, 16);
    if (n == 0) {
      r.complete = rest.compare(eol, 4, "\r\n\r\n") == 0;
      return;
    }
    if (rest.size() < eol + 2 + n + 2) return;
    r.body += rest.substr(eol + 2, n);
    i = eol + 2 + n + 2;
  }
}

detail::Task<> run_proxy(detail::Worker& w, detail::TcpStream& client, const Request& req, const ForwardTo& to,
                         const detail::Settings& st, detail::ProxyResult& out) {
  out = co_await detail::proxy(w, client, req, to, true, st);
}

class ProxyModes : public ::testing::Test {
 protected:
  ProxyModes() : acceptor_(w_.ioc, detail::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    st_.upstream.connect_timeout_ms = 1000;
    st_.upstream.response_timeout_ms = 3000;
    st_.limits.idle_timeout_ms = 3000;
  }

  ForwardTo to(const Upstream& up, std::string host = "127.0.0.1") {
    ForwardTo t;
    t.host = std::move(host);
    t.port = up.port();
    t.target = "/invocations";
    t.upstream_name = "scripted";
    t.on_outcome = [this](ForwardOutcome&& o) {
      ++outcomes_;
      outcome_ = std::move(o);
    };
    return t;
  }

  // One call from a new client connection. `hang_up_ms` > 0: the client closes after that long.
  Received call(const ForwardTo& t, int hang_up_ms = 0) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(acceptor_.local_endpoint().port());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    detail::TcpStream client(acceptor_.accept());

    Received got;
    const auto start = Clock::now();
    std::thread reader([&] {
      char buf[8192];
      for (;;) {
        const long left = hang_up_ms > 0 ? hang_up_ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                            Clock::now() - start).count()
                                         : 5000;
        if (hang_up_ms > 0 && left <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(std::min<long>(left, 5000))) <= 0) {
          if (hang_up_ms > 0) continue;
          break;
        }
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        const long at = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        got.pieces.emplace_back(at, std::string(buf, static_cast<std::size_t>(n)));
        got.raw.append(buf, static_cast<std::size_t>(n));
      }
      ::close(fd);
    });

    Request req;
    req.method = "POST";
    req.target = req.path = "/v1/agents/echo/invoke";
    req.body = R"({"input":"hi"})";
    req.request_id = "req-modes";
    req.remote_address = "127.0.0.1";
    outcome_.reset();
    outcomes_ = 0;
    boost::asio::co_spawn(w_.ioc, run_proxy(w_, client, req, t, st_, result_), boost::asio::detached);
    w_.ioc.restart();
    w_.ioc.run();
    client.close();
    reader.join();
    parse(got);
    return got;
  }

  std::string trust(const Cert& c) {
    std::string path = dir_.file("ca-" + std::to_string(++files_) + ".pem");
    std::ofstream(path) << c.pem;
    return path;
  }

  detail::Worker w_;
  detail::Settings st_;
  detail::Acceptor acceptor_;
  detail::ProxyResult result_;
  std::optional<ForwardOutcome> outcome_;
  int outcomes_ = 0;
  pc::testing::TempDir dir_{"pc-proxy-modes"};
  int files_ = 0;
};

// ---- buffered mode (transform) -------------------------------------------------------------

TEST_F(ProxyModes, TransformGetsTheWholeAnswerAndItsResponseIsSent) {
  Upstream up({{{.bytes = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Agent: a1\r\n"
                          "Connection: keep-alive, X-Hop\r\nX-Hop: no\r\nTransfer-Encoding: chunked\r\n\r\n"},
                {.bytes = chunk(R"({"output":)"), .pause_ms = 30},
                {.bytes = chunk(R"("hello"})") + std::string(kLastChunk), .pause_ms = 30}},
               {{.bytes = json_ok("second")}}});
  ForwardTo t = to(up);
  std::optional<UpstreamAnswer> seen;
  t.transform = [&](UpstreamAnswer&& a) {
    seen = a;
    return Response::json(200, R"({"wrapped":)" + a.body + "}");
  };
  Received r = call(t);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"wrapped":{"output":"hello"}})");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->status, 201);
  EXPECT_EQ(seen->content_type, "application/json");
  EXPECT_EQ(seen->body, R"({"output":"hello"})");
  ASSERT_NE(seen->header("x-agent"), nullptr);
  EXPECT_EQ(*seen->header("X-Agent"), "a1");
  EXPECT_EQ(seen->header("X-Hop"), nullptr) << "a field named in Connection is hop-by-hop";
  EXPECT_EQ(seen->header("Transfer-Encoding"), nullptr);
  ASSERT_EQ(outcomes_, 1);
  EXPECT_EQ(outcome_->status, 200);
  EXPECT_EQ(outcome_->error, "");
  EXPECT_EQ(outcome_->upstream_status, 201);
  EXPECT_EQ(outcome_->captured, R"({"output":"hello"})");
  EXPECT_FALSE(outcome_->truncated);
  // Read exactly to its end: the connection was pooled and serves the next call.
  EXPECT_EQ(call(t).body, R"({"wrapped":second})");
  EXPECT_EQ(up.connections(), 1);
}

TEST_F(ProxyModes, AnErrorStatusStillReachesTheTransform) {
  Upstream up({{{.bytes = json_ok(R"({"message":"boom"})", 500)}}});
  ForwardTo t = to(up);
  int status_seen = 0;
  t.transform = [&](UpstreamAnswer&& a) {
    status_seen = a.status;
    return error_response(502, "agent_error", "the agent failed", "req-modes");
  };
  Received r = call(t);
  EXPECT_EQ(status_seen, 500);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("agent_error"), std::string::npos);
  EXPECT_EQ(outcome_->upstream_status, 500);
  EXPECT_EQ(outcome_->status, 502);
}

TEST_F(ProxyModes, AnOversizedDeclaredAnswerIsRefusedWithoutReadingIt) {
  const std::string big(5000, 'x');
  Upstream up({{{.bytes = json_ok(big)}}, {{.bytes = json_ok("ok")}}});
  ForwardTo t = to(up);
  t.max_buffered_bytes = 1000;
  bool called = false;
  t.transform = [&](UpstreamAnswer&&) {
    called = true;
    return Response::json(200, "{}");
  };
  Received r = call(t);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream_bad_response"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("xxxx"), std::string::npos);
  EXPECT_FALSE(called);
  EXPECT_EQ(outcome_->error, "upstream_bad_response");
  EXPECT_EQ(outcome_->upstream_status, 200);
  // The unread answer was not pooled: the next call gets its own answer on a new connection.
  t.transform = [](UpstreamAnswer&& a) { return Response::json(200, a.body); };
  EXPECT_EQ(call(t).body, "ok");
  EXPECT_EQ(up.connections(), 2);
}

TEST_F(ProxyModes, AnOversizedChunkedAnswerIsCutAtTheLimit) {
  std::string steps = std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 8; ++i) steps += chunk(std::string(200, 'y'));
  steps += kLastChunk;
  Upstream up({{{.bytes = steps}}});
  ForwardTo t = to(up);
  t.max_buffered_bytes = 1000;
  bool called = false;
  t.transform = [&](UpstreamAnswer&&) {
    called = true;
    return Response::json(200, "{}");
  };
  Received r = call(t);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream_bad_response"), std::string::npos);
  EXPECT_FALSE(called);
  // Exactly at the limit is fine.
  Upstream exact({{{.bytes = json_ok(std::string(1000, 'z'))}}});
  ForwardTo e = to(exact);
  e.max_buffered_bytes = 1000;
  e.transform = [](UpstreamAnswer&& a) { return Response::json(200, std::to_string(a.body.size())); };
  EXPECT_EQ(call(e).body, "1000");
}

TEST_F(ProxyModes, ASlowHeadPastTheForwardsOwnTimeoutIs504) {
  st_.upstream.response_timeout_ms = 10000;  // the forward's own timeout wins
  Upstream up({{{.bytes = json_ok("too late"), .pause_ms = 1500}}});
  ForwardTo t = to(up);
  t.response_timeout = 200ms;
  t.transform = [](UpstreamAnswer&& a) { return Response::json(200, a.body); };
  const auto start = Clock::now();
  Received r = call(t);
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find("upstream_timeout"), std::string::npos);
  EXPECT_LT(Clock::now() - start, 1400ms);
  EXPECT_EQ(outcome_->error, "upstream_timeout");
  EXPECT_EQ(outcome_->upstream_status, 0);
}

TEST_F(ProxyModes, ABodyTricklingPastTheTimeoutIs504) {
  Upstream up({{{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart"},
                {.bytes = "more", .pause_ms = 150},
                {.bytes = "more", .pause_ms = 150},
                {.bytes = "more", .pause_ms = 150}}});
  ForwardTo t = to(up);
  t.response_timeout = 300ms;  // each read is quick; the whole body is not
  t.transform = [](UpstreamAnswer&& a) { return Response::json(200, a.body); };
  Received r = call(t);
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(outcome_->error, "upstream_timeout");
}

TEST_F(ProxyModes, AnUpstreamDyingInABufferedBodyIs502Broken) {
  Upstream up({{{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf", .close = true}}});
  ForwardTo t = to(up);
  t.transform = [](UpstreamAnswer&& a) { return Response::json(200, a.body); };
  Received r = call(t);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream_broken"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("half"), std::string::npos);
  EXPECT_EQ(outcome_->error, "upstream_broken");
}

TEST_F(ProxyModes, ATransformThatThrowsIs502) {
  Upstream up({{{.bytes = json_ok("not what it expects")}}});
  ForwardTo t = to(up);
  t.transform = [](UpstreamAnswer&&) -> Response { throw std::runtime_error("parse error at byte 0: secret detail"); };
  Received r = call(t);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream_bad_response"), std::string::npos);
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos) << "no leaked detail";
}

// ---- relay: capture, failures ----------------------------------------------------------------

TEST_F(ProxyModes, RelayCapturesTheStartOfTheBody) {
  Upstream up({{{.bytes = json_ok("0123456789")}},
               {{.bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
                {.bytes = chunk("abc"), .pause_ms = 20},
                {.bytes = chunk("defgh") + std::string(kLastChunk), .pause_ms = 20}},
               {{.bytes = json_ok("xyz")}}});
  ForwardTo t = to(up);
  t.capture_limit = 4;
  Received a = call(t);  // the fast path: the body came with the head
  EXPECT_EQ(a.body, "0123456789");
  EXPECT_EQ(outcome_->captured, "0123");
  EXPECT_TRUE(outcome_->truncated);
  Received b = call(t);  // read by read
  EXPECT_EQ(b.body, "abcdefgh");
  EXPECT_EQ(outcome_->captured, "abcd");
  EXPECT_TRUE(outcome_->truncated);
  t.capture_limit = 100;
  Received c = call(t);
  EXPECT_EQ(outcome_->captured, "xyz");
  EXPECT_FALSE(outcome_->truncated);
  EXPECT_EQ(outcome_->error, "");
  EXPECT_EQ(outcome_->status, 200);
}

TEST_F(ProxyModes, WithoutACaptureLimitNothingIsKept) {
  Upstream up({{{.bytes = json_ok("0123456789")}}});
  Received a = call(to(up));
  EXPECT_EQ(a.body, "0123456789");
  ASSERT_EQ(outcomes_, 1);
  EXPECT_EQ(outcome_->captured, "");
  EXPECT_FALSE(outcome_->truncated);
}

TEST_F(ProxyModes, ARefusedConnectionIsReportedOnce) {
  std::uint16_t port;
  {
    Upstream gone({});
    port = gone.port();
  }
  Upstream dummy({});
  ForwardTo t = to(dummy);
  t.port = port;
  int completes = 0;
  t.on_complete = [&](int) { ++completes; };  // connection.cpp calls it; the proxy must not
  Received r = call(t);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream_unavailable"), std::string::npos);
  ASSERT_EQ(outcomes_, 1);
  EXPECT_EQ(outcome_->error, "upstream_unavailable");
  EXPECT_EQ(outcome_->status, 502);
  EXPECT_EQ(completes, 0);
}

TEST_F(ProxyModes, AClientHangingUpCancelsTheUpstreamAndSaysSo) {
  Upstream up({{{.bytes = std::string(kSseHead)}, {.bytes = chunk("data: a\n\n"), .pause_ms = 1500}}});
  ForwardTo t = to(up);
  t.sse_heartbeat = 50ms;
  const auto start = Clock::now();
  call(t, 200);
  EXPECT_LT(Clock::now() - start, 1400ms) << "the upstream call was not cancelled";
  ASSERT_EQ(outcomes_, 1);
  EXPECT_EQ(outcome_->status, 499);
  EXPECT_EQ(outcome_->error, "client_gone");
  EXPECT_EQ(outcome_->upstream_status, 200);
}

// ---- relay of event streams: death mid-stream, heartbeats -----------------------------------

TEST_F(ProxyModes, AnEventStreamThatBreaksOffEndsWithAnErrorEventAndACleanEnd) {
  Upstream up({{{.bytes = std::string(kSseHead) + chunk("event: token\ndata: a\n\n")},
                {.bytes = "", .pause_ms = 50, .close = true}}});
  ForwardTo t = to(up);
  t.capture_limit = 1024;
  Received r = call(t);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.complete) << "the chunked body must end with its last chunk: " << r.raw;
  EXPECT_EQ(r.body.rfind("event: token\ndata: a\n\nevent: error\ndata: {\"error\":{\"code\":\"upstream_broken\"", 0), 0u)
      << r.body;
  EXPECT_NE(r.body.find("\"requestId\":\"req-modes\""), std::string::npos);
  EXPECT_TRUE(r.body.ends_with("}\n\n")) << r.body;
  EXPECT_EQ(outcome_->status, 200);
  EXPECT_EQ(outcome_->error, "upstream_broken");
  EXPECT_EQ(outcome_->upstream_status, 200);
  EXPECT_EQ(outcome_->captured, "event: token\ndata: a\n\n");
  EXPECT_TRUE(outcome_->truncated);
}

TEST_F(ProxyModes, AHalfWrittenEventIsClosedBeforeTheErrorEvent) {
  Upstream up({{{.bytes = std::string(kSseHead) + chunk("data: a\n\ndata: par")}, {.pause_ms = 50, .close = true}}});
  Received r = call(to(up));
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.body.rfind("data: a\n\ndata: par\n\nevent: error\n", 0), 0u) << r.body;
}

TEST_F(ProxyModes, AnEventStreamGoingQuietPastTheTimeoutEndsWithATimeoutEvent) {
  Upstream up({{{.bytes = std::string(kSseHead) + chunk("data: a\n\n")}, {.bytes = chunk("data: late\n\n"), .pause_ms = 1500}}});
  ForwardTo t = to(up);
  t.response_timeout = 200ms;
  Received r = call(t);
  EXPECT_TRUE(r.complete);
  EXPECT_NE(r.body.find("event: error\ndata: {\"error\":{\"code\":\"upstream_timeout\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("late"), std::string::npos);
  EXPECT_EQ(outcome_->error, "upstream_timeout");
}

// Not an event stream: the client must not mistake a cut body for a whole one, so it is cut.
TEST_F(ProxyModes, AnotherBodyThatBreaksOffIsCutNotEnded) {
  Upstream up({{{.bytes = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          chunk("[1,2,")},
                {.pause_ms = 50, .close = true}}});
  Received r = call(to(up));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete) << r.raw;
  EXPECT_EQ(r.body, "[1,2,");
  EXPECT_EQ(r.body.find("event: error"), std::string::npos);
  EXPECT_EQ(outcome_->error, "upstream_broken");
  EXPECT_FALSE(result_.keep_alive);
}

TEST_F(ProxyModes, HeartbeatsKeepAnIdleStreamAliveBetweenEvents) {
  Upstream up({{{.bytes = std::string(kSseHead) + chunk("data: a\n\n")},
                {.bytes = chunk("data: b\n\n") + std::string(kLastChunk), .pause_ms = 650}}});
  ForwardTo t = to(up);
  t.sse_heartbeat = 150ms;
  Received r = call(t);
  EXPECT_TRUE(r.complete);
  // a, then keep-alives while the agent is quiet, then b.
  const std::string ka(detail::kKeepAlive);
  EXPECT_EQ(r.body.rfind("data: a\n\n" + ka, 0), 0u) << r.body;
  EXPECT_TRUE(r.body.ends_with(ka + "data: b\n\n")) << r.body;
  std::size_t beats = 0;
  for (auto at = r.body.find(ka); at != std::string::npos; at = r.body.find(ka, at + 1)) ++beats;
  EXPECT_GE(beats, 2u);
  EXPECT_LE(beats, 4u);  // 650 / 150: a loaded machine sends fewer, never more
  // Timing: no beat before the idle time has passed since the last event.
  long first_event = -1, first_beat = -1;
  for (const auto& [at, piece] : r.pieces) {
    if (first_event < 0 && piece.find("data: a") != std::string::npos) first_event = at;
    if (first_beat < 0 && piece.find(": keep-alive") != std::string::npos) first_beat = at;
  }
  ASSERT_GE(first_event, 0);
  ASSERT_GE(first_beat, 0);
  EXPECT_GE(first_beat - first_event, 140);
  EXPECT_EQ(outcome_->error, "");
}

TEST_F(ProxyModes, NoHeartbeatInsideAHalfWrittenEvent) {
  Upstream up({{{.bytes = std::string(kSseHead) + chunk("data: par")},
                {.bytes = chunk("tial\n\n") + std::string(kLastChunk), .pause_ms = 500}}});
  ForwardTo t = to(up);
  t.sse_heartbeat = 100ms;
  Received r = call(t);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.body, "data: partial\n\n");
}

TEST_F(ProxyModes, NoHeartbeatForAnEventStreamOfFixedLength) {
  Upstream up({{{.bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 18\r\n\r\ndata: a\n\n"},
                {.bytes = "data: b\n\n", .pause_ms = 400}}});
  ForwardTo t = to(up);
  t.sse_heartbeat = 100ms;
  Received r = call(t);
  EXPECT_EQ(r.body, "data: a\n\ndata: b\n\n");
}

TEST(EventBoundary, FollowsBlankLinesInEveryLineEnding) {
  auto at = [](std::initializer_list<std::string_view> parts) {
    detail::EventBoundary b;
    for (auto p : parts) b.feed(p.data(), p.size());
    return b.at_boundary();
  };
  EXPECT_TRUE(at({}));
  EXPECT_TRUE(at({"data: a\n\n"}));
  EXPECT_TRUE(at({"data: a\r\n\r\n"}));
  EXPECT_TRUE(at({"data: a\r\r"}));
  EXPECT_TRUE(at({"data: a\n", "\n"}));
  EXPECT_TRUE(at({"data: a\r\n", "\r", "\n"}));
  EXPECT_TRUE(at({": comment\n\n"}));
  EXPECT_FALSE(at({"data: a\n"}));
  EXPECT_FALSE(at({"data: a\r\n"}));
  EXPECT_FALSE(at({"data: a"}));
  EXPECT_FALSE(at({"data: a\n\n", "data: b"}));
  EXPECT_TRUE(detail::is_event_stream("text/event-stream"));
  EXPECT_TRUE(detail::is_event_stream("Text/Event-Stream; charset=utf-8"));
  EXPECT_FALSE(detail::is_event_stream("application/json"));
  EXPECT_FALSE(detail::is_event_stream("text/event-streamx"));
}

// ---- https upstreams, IPv6 -------------------------------------------------------------------

TEST_F(ProxyModes, HttpsWithATrustedCertificateForTheAddressIsPooled) {
  Cert cert = make_cert("IP:127.0.0.1,DNS:localhost");
  SslCtx ctx = server_tls(cert);
  Upstream up({{{.bytes = json_ok("secure one")}}, {{.bytes = json_ok("secure two")}}}, ctx.get());
  ForwardTo t = to(up);
  t.scheme = "https";
  t.ca_file = trust(cert);
  Received a = call(t);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "secure one");
  EXPECT_EQ(call(t).body, "secure two");
  EXPECT_EQ(up.connections(), 1) << "a TLS connection read to its end is pooled";
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].find("Host: 127.0.0.1:" + std::to_string(up.port()) + "\r\n"), std::string::npos);
}

TEST_F(ProxyModes, HttpsByNameUsesTheConfiguredAnchors) {
  Cert cert = make_cert("DNS:localhost");
  SslCtx ctx = server_tls(cert);
  Upstream up({{{.bytes = json_ok("by name")}}}, ctx.get());
  ForwardTo t = to(up, "localhost");
  t.scheme = "https";
  st_.upstream.ca_file = trust(cert);  // the server-wide anchors, when the forward names none
  Received r = call(t);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "by name");
}

TEST_F(ProxyModes, HttpsWithAnUntrustedCertificateSendsNothing) {
  Cert cert = make_cert("IP:127.0.0.1");
  SslCtx ctx = server_tls(cert);
  Upstream up({{{.bytes = json_ok("must not be relayed")}}}, ctx.get());
  ForwardTo t = to(up);
  t.scheme = "https";  // the system store does not know a certificate made a moment ago
  Received r = call(t);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream_unavailable"), std::string::npos);
  EXPECT_NE(r.body.find("certificate was not accepted"), std::string::npos) << r.body;
  EXPECT_EQ(outcome_->error, "upstream_unavailable");
  EXPECT_TRUE(up.requests().empty()) << "the request left the gateway before the peer was verified";
}

TEST_F(ProxyModes, HttpsWithACertificateForAnotherHostSendsNothing) {
  Cert cert = make_cert("DNS:other.example,IP:10.9.9.9");
  SslCtx ctx = server_tls(cert);
  Upstream up({{{.bytes = json_ok("must not be relayed")}}, {{.bytes = json_ok("must not be relayed")}}}, ctx.get());
  ForwardTo t = to(up);
  t.scheme = "https";
  t.ca_file = trust(cert);  // trusted, but it names someone else
  EXPECT_EQ(call(t).status, 502);
  ForwardTo by_name = to(up, "localhost");
  by_name.scheme = "https";
  by_name.ca_file = t.ca_file;
  EXPECT_EQ(call(by_name).status, 502);
  EXPECT_TRUE(up.requests().empty());
}

TEST_F(ProxyModes, AnUnreadableCaFileIsAClearFailure) {
  Upstream up({});
  ForwardTo t = to(up);
  t.scheme = "https";
  t.ca_file = dir_.file("missing.pem");
  Received r = call(t);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream_unavailable"), std::string::npos);
  EXPECT_EQ(r.body.find("missing.pem"), std::string::npos) << "no leaked detail";
  EXPECT_EQ(up.connections(), 0);
}

TEST_F(ProxyModes, AnUnknownSchemeIsRefused) {
  Upstream up({});
  ForwardTo t = to(up);
  t.scheme = "ftp";
  EXPECT_EQ(call(t).status, 502);
  EXPECT_EQ(up.connections(), 0);
}

// The pool's key names the scheme: a plain connection to host:port is never handed to an https
// forward to the same host:port (the request would go out in clear text), nor the reverse.
TEST_F(ProxyModes, HttpAndHttpsNeverShareAPooledConnection) {
  Upstream plain({{{.bytes = json_ok("plain")}}, {{.bytes = json_ok("must not be relayed")}}});
  ForwardTo t = to(plain);
  EXPECT_EQ(call(t).body, "plain");
  ForwardTo s = to(plain);
  s.scheme = "https";
  s.ca_file = trust(make_cert("IP:127.0.0.1"));
  const int refused = call(s).status;  // a new connection whose handshake fails or times out
  EXPECT_TRUE(refused == 502 || refused == 504) << refused;
  EXPECT_EQ(plain.connections(), 2);
  EXPECT_EQ(plain.requests().size(), 1u) << "the https request went out on the plain connection";

  Cert cert = make_cert("IP:127.0.0.1");
  SslCtx ctx = server_tls(cert);
  Upstream secure({{{.bytes = json_ok("secure")}}, {{.bytes = json_ok("must not be relayed")}}}, ctx.get());
  ForwardTo a = to(secure);
  a.scheme = "https";
  a.ca_file = trust(cert);
  EXPECT_EQ(call(a).body, "secure");
  ForwardTo b = to(secure);  // http to the same host:port
  EXPECT_EQ(call(b).status, 502);
  EXPECT_EQ(secure.connections(), 2);
  EXPECT_EQ(secure.requests().size(), 1u);
}

TEST_F(ProxyModes, IPv6LiteralHostsWithAndWithoutBrackets) {
  Upstream up({{{.bytes = json_ok("over v6")}}, {{.bytes = json_ok("again")}}}, nullptr, true);
  Received r = call(to(up, "::1"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "over v6");
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_NE(reqs[0].find("Host: [::1]:" + std::to_string(up.port()) + "\r\n"), std::string::npos) << reqs[0];
  Received b = call(to(up, "[::1]"));
  EXPECT_EQ(b.body, "again");
  reqs = up.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[1].find("Host: [::1]:" + std::to_string(up.port()) + "\r\n"), std::string::npos) << reqs[1];
}

TEST_F(ProxyModes, HttpsToAnIPv6LiteralChecksTheAddress) {
  Cert good = make_cert("IP:::1");
  SslCtx ctx = server_tls(good);
  Upstream up({{{.bytes = json_ok("v6 secure")}}}, ctx.get(), true);
  ForwardTo t = to(up, "::1");
  t.scheme = "https";
  t.ca_file = trust(good);
  Received r = call(t);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "v6 secure");

  Cert v4 = make_cert("IP:127.0.0.1");
  SslCtx ctx4 = server_tls(v4);
  Upstream wrong({{{.bytes = json_ok("must not be relayed")}}}, ctx4.get(), true);
  ForwardTo w = to(wrong, "::1");
  w.scheme = "https";
  w.ca_file = trust(v4);
  EXPECT_EQ(call(w).status, 502);
  EXPECT_TRUE(wrong.requests().empty());
}

}  // namespace
}  // namespace pc::net
