// Streamed responses (net::ResponseStream, issue 10) through a real net::Server on loopback,
// read by raw client sockets: events written from other threads arrive in order and at once,
// heartbeats fill silence, close() ends the chunked body and the connection serves on, a client
// that hangs up or stops reading ends the stream, HTTP/1.0 gets a close-delimited body, a drain
// does not wait for open streams, and handler mistakes are answered 500.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "net/http.h"
#include "net/router.h"
#include "net/server.h"
#include "support/temp_dir.h"
#include "support/test_cert.h"

namespace pc::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const bool kNoSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// ---- a raw client ------------------------------------------------------------------------------

class Client {
 public:
  explicit Client(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void send(const std::string& s) { ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size())); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Reads until `text` appears in what was received (from `from` on); false at timeout or EOF.
  bool wait_for(std::string_view text, std::chrono::milliseconds timeout = 3s, std::size_t from = 0) {
    const auto until = Clock::now() + timeout;
    while (got.find(text, from) == std::string::npos) {
      if (!read_once(until)) return false;
    }
    return true;
  }
  // Reads until the server closes (true) or the timeout passes (false).
  bool wait_eof(std::chrono::milliseconds timeout = 3s) {
    const auto until = Clock::now() + timeout;
    while (read_once(until)) {
    }
    return eof;
  }

  std::string got;
  bool eof = false;

 private:
  bool read_once(Clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0 || eof) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof = true;
      return false;
    }
    got.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
};

// The body of a chunked response whose head ends at `body_start`; "" if malformed.
std::string dechunk(const std::string& raw, std::size_t body_start, bool* complete = nullptr) {
  std::string out;
  std::size_t at = body_start;
  if (complete) *complete = false;
  for (;;) {
    const auto eol = raw.find("\r\n", at);
    if (eol == std::string::npos) return out;
    const std::size_t size = std::stoul(raw.substr(at, eol - at), nullptr, 16);
    if (size == 0) {
      if (complete) *complete = raw.compare(eol, 4, "\r\n\r\n") == 0;
      return out;
    }
    if (raw.size() < eol + 2 + size + 2) return out;
    out += raw.substr(eol + 2, size);
    at = eol + 2 + size + 2;
  }
}

std::string get(std::string_view path, std::string_view version = "HTTP/1.1") {
  return "GET " + std::string(path) + " " + std::string(version) + "\r\nHost: t\r\n\r\n";
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// ---- the server --------------------------------------------------------------------------------

// A gateway whose GET /stream answers with a new ResponseStream (options from the test), kept
// here for the test to write to, and whose GET /plain answers "plain".
class StreamServer {
 public:
  explicit StreamServer(ResponseStream::Options opts = {}, unsigned threads = 2, std::string cert_file = "",
                        std::string key_file = "")
      : opts_(opts) {
    auto router = std::make_shared<Router>();
    router->add("GET", "/stream", [this](std::shared_ptr<Request>, Responder respond) {
      auto s = std::make_shared<ResponseStream>(opts_);
      if (before_answer) before_answer(*s);
      s->on_closed([this] { closed_.fetch_add(1); });
      {
        std::lock_guard lock(mu_);
        streams_.push_back(s);
      }
      cv_.notify_all();
      respond(Response::streamed(200, "text/event-stream", s));
    });
    router->add("HEAD", "/stream-head", [this](std::shared_ptr<Request>, Responder respond) {
      auto s = std::make_shared<ResponseStream>(opts_);
      s->on_closed([this] { closed_.fetch_add(1); });
      {
        std::lock_guard lock(mu_);
        streams_.push_back(s);
      }
      cv_.notify_all();
      respond(Response::streamed(200, "text/event-stream", s));
    });
    router->add("GET", "/plain", [](std::shared_ptr<Request>, Responder respond) {
      respond(Response::text(200, "plain"));
    });
    router->add("GET", "/body-and-stream", [](std::shared_ptr<Request>, Responder respond) {
      auto r = Response::streamed(200, "text/event-stream", std::make_shared<ResponseStream>());
      r.body = "oops";
      respond(r);
    });
    router->add("GET", "/dropped", [](std::shared_ptr<Request>, Responder) {});
    // Answered from another thread after the handler returned, events already queued.
    router->add("GET", "/later", [this](std::shared_ptr<Request>, Responder respond) {
      auto s = std::make_shared<ResponseStream>(opts_);
      s->on_closed([this] { closed_.fetch_add(1); });
      {
        std::lock_guard lock(mu_);
        streams_.push_back(s);
      }
      cv_.notify_all();
      std::thread([s, respond]() mutable {
        std::this_thread::sleep_for(20ms);
        s->write("data: before the answer\n\n");
        respond(Response::streamed(200, "text/event-stream", s));
      }).detach();
    });
    core::Config c;
    c.server.listen = "127.0.0.1:0";
    c.server.threads = threads;
    c.server.limits.max_connections = 20000;
    c.log.access = false;
    c.server.tls.cert_file = std::move(cert_file);
    c.server.tls.key_file = std::move(key_file);
    server_ = std::make_unique<Server>(c, router);
    server_->start();
    const auto addr = server_->address();
    port_ = static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  }
  ~StreamServer() { server_->shutdown(0ms); }

  std::uint16_t port() const { return port_; }
  Server& server() { return *server_; }
  int closed() const { return closed_.load(); }
  bool wait_closed(int n, std::chrono::milliseconds timeout = 3s) {
    const auto until = Clock::now() + timeout;
    while (closed_.load() < n && Clock::now() < until) std::this_thread::sleep_for(2ms);
    return closed_.load() >= n;
  }
  // The n-th stream the handler made (0-based), once it exists.
  std::shared_ptr<ResponseStream> stream(std::size_t n = 0) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [&] { return streams_.size() > n; });
    return streams_.size() > n ? streams_[n] : nullptr;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return streams_.size();
  }

  std::function<void(ResponseStream&)> before_answer;

 private:
  ResponseStream::Options opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<ResponseStream>> streams_;
  std::atomic<int> closed_{0};
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

std::size_t body_start(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string::npos : end + 4;
}

// ---- the tests ---------------------------------------------------------------------------------

TEST(ResponseStream, EventsFromAnotherThreadArriveInOrderAsTheyAreWritten) {
  StreamServer srv;
  srv.before_answer = [](ResponseStream& s) { EXPECT_TRUE(s.write("data: early\n\n")); };
  Client c(srv.port());
  ASSERT_TRUE(c.connected());
  c.send(get("/stream"));
  ASSERT_TRUE(c.wait_for("data: early\n\n")) << c.got;
  // The head says what the body is and keeps buffers along the way from holding events back.
  EXPECT_EQ(c.got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << c.got;
  EXPECT_NE(c.got.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(c.got.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(c.got.find("Cache-Control: no-cache\r\n"), std::string::npos);
  EXPECT_NE(c.got.find("X-Accel-Buffering: no\r\n"), std::string::npos);
  EXPECT_NE(c.got.find("X-Request-Id: "), std::string::npos);
  EXPECT_EQ(c.got.find("Content-Length"), std::string::npos);

  auto s = srv.stream();
  ASSERT_TRUE(s);
  // One event at a time from a producer thread: each is read before the next is written, so
  // nothing is held back in a buffer.
  for (int i = 0; i < 5; ++i) {
    const std::string ev = "data: one-by-one " + std::to_string(i) + "\n\n";
    std::thread([&] { EXPECT_TRUE(s->write(ev)); }).join();
    ASSERT_TRUE(c.wait_for(ev, 2s)) << "event " << i << " was not delivered on its own";
  }
  // A burst from two threads in turn, then many from one: order is kept.
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(s->write("data: " + std::to_string(i) + "\n\n"));
    s->close();
  });
  producer.join();
  ASSERT_TRUE(c.wait_for("0\r\n\r\n", 5s));
  bool complete = false;
  const std::string body = dechunk(c.got, body_start(c.got), &complete);
  EXPECT_TRUE(complete);
  std::string want = "data: early\n\n";
  for (int i = 0; i < 5; ++i) want += "data: one-by-one " + std::to_string(i) + "\n\n";
  for (int i = 0; i < 1000; ++i) want += "data: " + std::to_string(i) + "\n\n";
  EXPECT_EQ(body, want);
  EXPECT_TRUE(srv.wait_closed(1));
  EXPECT_FALSE(s->write("data: late\n\n")) << "a closed stream takes no more";
}

TEST(ResponseStream, HeartbeatWhenIdle) {
  StreamServer srv({.heartbeat = 150ms});
  Client c(srv.port());
  c.send(get("/stream"));
  ASSERT_TRUE(c.wait_for("\r\n\r\n"));
  const auto start = Clock::now();
  ASSERT_TRUE(c.wait_for(": keep-alive\n\n", 3s)) << c.got;
  const auto first = Clock::now() - start;
  EXPECT_GE(first, 100ms);
  EXPECT_LT(first, 1500ms);
  // An event resets the silence; the stream stays well framed.
  auto s = srv.stream();
  ASSERT_TRUE(s->write("data: x\n\n"));
  ASSERT_TRUE(c.wait_for("data: x\n\n"));
  const std::size_t after = c.got.size();
  ASSERT_TRUE(c.wait_for(": keep-alive\n\n", 3s, after));
  s->close();
  ASSERT_TRUE(c.wait_for("0\r\n\r\n"));
  bool complete = false;
  const std::string body = dechunk(c.got, body_start(c.got), &complete);
  EXPECT_TRUE(complete);
  EXPECT_NE(body.find(": keep-alive\n\ndata: x\n\n"), std::string::npos) << body;
}

TEST(ResponseStream, NoHeartbeatInsideAHalfWrittenEvent) {
  StreamServer srv({.heartbeat = 80ms});
  Client c(srv.port());
  c.send(get("/stream"));
  ASSERT_TRUE(c.wait_for("\r\n\r\n"));
  auto s = srv.stream();
  ASSERT_TRUE(s->write("data: half"));
  ASSERT_TRUE(c.wait_for("data: half"));
  std::this_thread::sleep_for(400ms);
  ASSERT_TRUE(s->write(" done\n\n"));
  ASSERT_TRUE(c.wait_for(" done\n\n"));
  ASSERT_TRUE(c.wait_for(": keep-alive\n\n", 2s, c.got.find(" done")));
  const std::string body = dechunk(c.got, body_start(c.got));
  EXPECT_EQ(body.rfind("data: half done\n\n", 0), 0u) << body;
}

TEST(ResponseStream, CloseEndsTheBodyAndTheConnectionServesTheNextRequest) {
  StreamServer srv;
  Client c(srv.port());
  c.send(get("/stream"));
  ASSERT_TRUE(c.wait_for("\r\n\r\n"));
  auto s = srv.stream();
  ASSERT_TRUE(s->write("data: bye\n\n"));
  s->close();
  s->close();  // idempotent
  EXPECT_TRUE(s->closed());
  ASSERT_TRUE(c.wait_for("0\r\n\r\n"));
  EXPECT_TRUE(srv.wait_closed(1));
  bool ran_at_once = false;
  s->on_closed([&] { ran_at_once = true; });
  EXPECT_TRUE(ran_at_once) << "on_closed after the end runs at once";
  const std::size_t before = c.got.size();
  c.send(get("/plain"));
  ASSERT_TRUE(c.wait_for("plain", 3s, before)) << c.got.substr(before);
  EXPECT_NE(c.got.find("HTTP/1.1 200 OK", before), std::string::npos);
  EXPECT_FALSE(c.eof);
}

TEST(ResponseStream, ClientHangUpEndsTheStream) {
  StreamServer srv;
  Client c(srv.port());
  c.send(get("/stream"));
  ASSERT_TRUE(c.wait_for("\r\n\r\n"));
  auto s = srv.stream();
  ASSERT_TRUE(s->write("data: 1\n\n"));
  ASSERT_TRUE(c.wait_for("data: 1"));
  c.close();
  // Detected from the read side while idle: no write needed.
  ASSERT_TRUE(srv.wait_closed(1, 2s)) << "on_closed did not run after the client hung up";
  EXPECT_EQ(srv.closed(), 1);
  EXPECT_TRUE(s->closed());
  EXPECT_FALSE(s->write("data: 2\n\n"));
  s->close();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(srv.closed(), 1) << "on_closed runs once";
}

TEST(ResponseStream, AClientThatDoesNotReadIsCutOffWithBoundedMemory) {
  constexpr std::size_t kMax = 256 * 1024;
  StreamServer srv({.max_queued_bytes = kMax});
  Client c(srv.port(), 4096);
  c.send(get("/stream"));
  auto s = srv.stream();
  ASSERT_TRUE(s);
  const std::string piece(16 * 1024, 'x');
  std::size_t accepted = 0;
  const auto start = Clock::now();
  // The producer writes as fast as it can; the client never reads.
  while (s->write("data: " + piece + "\n\n")) {
    accepted += piece.size();
    ASSERT_LT(accepted, 64u << 20) << "never cut off";
    ASSERT_LT(Clock::now() - start, 10s);
  }
  // What the gateway accepted is the limit plus what the kernel's socket buffers took.
  std::cout << "[ info ] cut off after " << accepted / 1024 << " KiB accepted (limit " << kMax / 1024
            << " KiB)\n";
  EXPECT_TRUE(s->closed());
  ASSERT_TRUE(srv.wait_closed(1, 3s));
  // The client is cut off: its connection closes without the body's last chunk.
  ASSERT_TRUE(c.wait_eof(5s));
  EXPECT_EQ(c.got.find("\r\n0\r\n\r\n"), std::string::npos);
}

TEST(ResponseStream, Http10GetsACloseDelimitedBody) {
  StreamServer srv({.heartbeat = 100ms});
  Client c(srv.port());
  c.send(get("/stream", "HTTP/1.0"));
  ASSERT_TRUE(c.wait_for("\r\n\r\n"));
  EXPECT_EQ(c.got.find("Transfer-Encoding"), std::string::npos) << c.got;
  EXPECT_NE(c.got.find("Connection: close\r\n"), std::string::npos) << c.got;
  auto s = srv.stream();
  ASSERT_TRUE(s->write("data: a\n\n"));
  ASSERT_TRUE(c.wait_for(": keep-alive\n\n"));
  ASSERT_TRUE(s->write("data: b\n\n"));
  s->close();
  ASSERT_TRUE(c.wait_eof());
  const std::string body = c.got.substr(body_start(c.got));
  EXPECT_EQ(body.rfind("data: a\n\n", 0), 0u) << body;
  EXPECT_EQ(body.substr(body.size() - 9), "data: b\n\n") << body;
  EXPECT_TRUE(srv.wait_closed(1));
}

TEST(ResponseStream, ServerDrainClosesOpenStreamsPromptly) {
  constexpr int kStreams = 200;
  auto srv = std::make_unique<StreamServer>();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<Client>(srv->port()));
    clients.back()->send(get("/stream"));
  }
  for (auto& c : clients) ASSERT_TRUE(c->wait_for("\r\n\r\n"));
  ASSERT_TRUE(srv->stream(kStreams - 1));
  ASSERT_TRUE(srv->stream(7)->write("data: queued before the drain\n\n"));
  const auto start = Clock::now();
  srv->server().drain(30s);  // returns once every connection closed, not at the deadline
  const auto took = Clock::now() - start;
  std::cout << "[ info ] drain with " << kStreams << " open streams took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  EXPECT_LT(took, 2s);
  EXPECT_TRUE(srv->wait_closed(kStreams));
  for (auto& c : clients) {
    ASSERT_TRUE(c->wait_eof());
    bool complete = false;
    dechunk(c->got, body_start(c->got), &complete);
    EXPECT_TRUE(complete) << "a drained stream ends cleanly: " << c->got;
  }
  int got_queued = 0;  // streams are numbered in the order the handler ran, not the clients'
  for (auto& c : clients) got_queued += c->got.find("data: queued before the drain") != std::string::npos;
  EXPECT_EQ(got_queued, 1) << "what was queued when the drain began is still sent";
  const auto stop_start = Clock::now();
  srv.reset();
  EXPECT_LT(Clock::now() - stop_start, 2s);
}

TEST(ResponseStream, StopWithOpenStreamsDoesNotWait) {
  auto srv = std::make_unique<StreamServer>();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<Client>(srv->port()));
    clients.back()->send(get("/stream"));
  }
  for (auto& c : clients) ASSERT_TRUE(c->wait_for("\r\n\r\n"));
  auto s = srv->stream(19);
  const auto start = Clock::now();
  srv->server().shutdown(0ms);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_FALSE(s->write("data: after stop\n\n")) << "a stream whose connection is gone takes no more";
  EXPECT_EQ(srv->closed(), 20) << "on_closed ran for every stream";
}

TEST(ResponseStream, ABodyBesideAStreamIsAnswered500) {
  StreamServer srv;
  Client c(srv.port());
  c.send(get("/body-and-stream"));
  ASSERT_TRUE(c.wait_for("\"code\":\"internal\""));
  EXPECT_EQ(c.got.rfind("HTTP/1.1 500 ", 0), 0u) << c.got;
  EXPECT_EQ(c.got.find("oops"), std::string::npos);
  // The connection is still usable.
  const std::size_t before = c.got.size();
  c.send(get("/plain"));
  ASSERT_TRUE(c.wait_for("plain", 3s, before));
}

TEST(ResponseStream, ADroppedResponderIsAnswered500) {
  StreamServer srv;
  Client c(srv.port());
  c.send(get("/dropped"));
  ASSERT_TRUE(c.wait_for("\"code\":\"internal\""));
  EXPECT_EQ(c.got.rfind("HTTP/1.1 500 ", 0), 0u) << c.got;
}

TEST(ResponseStream, AnsweredFromAnotherThreadAfterTheHandlerReturned) {
  StreamServer srv;
  Client c(srv.port());
  c.send("GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.wait_for("data: before the answer\n\n"));
  auto s = srv.stream();
  std::thread([&] {
    s->write("data: after\n\n");
    s->close();
  }).join();
  ASSERT_TRUE(c.wait_for("0\r\n\r\n"));
  EXPECT_EQ(dechunk(c.got, body_start(c.got)), "data: before the answer\n\ndata: after\n\n");
}

// The same over TLS: the stream is written through the TLS layer, and a client that goes away
// is noticed at the latest when writing to it fails (a TLS client's close_notify is data, so the
// idle read-side watch cannot tell it from a pipelined request; the heartbeat writes then find
// the connection gone).
TEST(ResponseStream, OverTls) {
  pc::testing::TempDir dir("pc-stream-tls");
  const auto cert = pc::testing::make_cert("IP:127.0.0.1");
  const std::string cert_file = dir.file("cert.pem"), key_file = dir.file("key.pem");
  std::ofstream(cert_file) << cert.pem;
  {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, cert.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::ofstream(key_file) << std::string(data, static_cast<std::size_t>(n));
    BIO_free(bio);
  }
  StreamServer srv({.heartbeat = 100ms}, 2, cert_file, key_file);

  auto tls_client = [&](auto&& body) {
    Client raw(srv.port());
    ASSERT_TRUE(raw.connected());
    pc::testing::SslCtx ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    SSL* ssl = SSL_new(ctx.get());
    SSL_set_fd(ssl, raw.fd());
    ASSERT_EQ(SSL_connect(ssl), 1);
    const std::string req = get("/stream");
    ASSERT_EQ(SSL_write(ssl, req.data(), static_cast<int>(req.size())), static_cast<int>(req.size()));
    std::string got;
    auto read_until = [&](std::string_view text) {
      char buf[4096];
      while (got.find(text) == std::string::npos) {
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) return false;
        got.append(buf, static_cast<std::size_t>(n));
      }
      return true;
    };
    body(ssl, read_until, got);
    SSL_free(ssl);
  };

  tls_client([&](SSL*, auto& read_until, std::string& got) {
    ASSERT_TRUE(read_until("\r\n\r\n"));
    auto s = srv.stream(0);
    std::thread([&] { s->write("data: secret\n\n"); }).join();
    ASSERT_TRUE(read_until("data: secret\n\n"));
    ASSERT_TRUE(read_until(": keep-alive\n\n"));
    s->close();
    ASSERT_TRUE(read_until("0\r\n\r\n"));
    EXPECT_EQ(dechunk(got, body_start(got)).rfind("data: secret\n\n: keep-alive\n\n", 0), 0u);
  });
  ASSERT_TRUE(srv.wait_closed(1));

  tls_client([&](SSL* ssl, auto& read_until, std::string&) {
    ASSERT_TRUE(read_until("\r\n\r\n"));
    SSL_shutdown(ssl);
  });  // the socket closes here
  ASSERT_TRUE(srv.wait_closed(2, 3s)) << "the heartbeats did not find the TLS client gone";
  EXPECT_FALSE(srv.stream(1)->write("data: x\n\n"));
}

TEST(ResponseStream, HeadGetsTheHeadAndTheStreamEnds) {
  StreamServer srv;
  Client c(srv.port());
  c.send("HEAD /stream-head HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.wait_for("\r\n\r\n"));
  EXPECT_EQ(c.got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << c.got;
  EXPECT_NE(c.got.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_TRUE(srv.wait_closed(1)) << "the stream ends: a HEAD answer has no body";
  EXPECT_FALSE(srv.stream()->write("data: x\n\n"));
  const std::size_t before = c.got.size();
  c.send(get("/plain"));
  ASSERT_TRUE(c.wait_for("plain", 3s, before)) << "no body bytes were sent after the head";
  EXPECT_EQ(c.got.compare(before, 9, "HTTP/1.1 "), 0) << c.got.substr(before);
}

TEST(ResponseStream, AStreamNeverAnsweredStillBoundsItsQueue) {
  ResponseStream s({.max_queued_bytes = 100});
  EXPECT_TRUE(s.write(std::string(80, 'a')));
  EXPECT_FALSE(s.write(std::string(40, 'b'))) << "past the limit: cut off";
  EXPECT_TRUE(s.closed());
  EXPECT_FALSE(s.write("c"));
  ResponseStream big({.max_queued_bytes = 100});
  EXPECT_TRUE(big.write(std::string(500, 'a'))) << "one large write to a caught-up client is not a slow client";
}

// Not a pass/fail bound: prints what an idle open stream costs the gateway process (the client
// sockets live in this process too, but hold no user-space memory). The goal is 10,000
// idle MCP GET streams under 300 MB of gateway RSS.
// PC_IDLE_STREAMS=N measures N instead (each stream takes two descriptors in this process).
TEST(ResponseStream, ManyIdleStreamsMemory) {
  const char* env = std::getenv("PC_IDLE_STREAMS");
  const int kStreams = env ? std::atoi(env) : 2000;
  ASSERT_GT(kStreams, 0);
  StreamServer srv({.heartbeat = 15s}, 2);
  {  // warm up: the first streams allocate per-thread caches and metric children
    std::vector<std::unique_ptr<Client>> warm;
    for (int i = 0; i < 20; ++i) {
      warm.push_back(std::make_unique<Client>(srv.port()));
      warm.back()->send(get("/stream"));
    }
    for (auto& c : warm) ASSERT_TRUE(c->wait_for("\r\n\r\n"));
    for (auto& c : warm) c->close();
    ASSERT_TRUE(srv.wait_closed(20));
  }
  std::vector<std::unique_ptr<Client>> clients;
  clients.reserve(kStreams);
  const long before = rss_kib();
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<Client>(srv.port()));
    ASSERT_TRUE(clients.back()->connected());
    clients.back()->send(get("/stream"));
  }
  for (auto& c : clients) ASSERT_TRUE(c->wait_for("\r\n\r\n", 10s));
  ASSERT_TRUE(srv.stream(20 + kStreams - 1));
  const long after = rss_kib();
  const double per = static_cast<double>(after - before) * 1024.0 / kStreams;
  std::cout << "[ info ] " << kStreams << " idle streams: RSS " << before / 1024 << " MiB -> " << after / 1024
            << " MiB, " << static_cast<long>(per) << " bytes per stream (server and handler state; "
            << "10,000 would add " << static_cast<long>(per * 10000 / (1024 * 1024)) << " MiB)\n";
  EXPECT_GT(after, 0);
  // Every one of them is still live: a write reaches its client.
  for (int i = 0; i < kStreams; ++i) ASSERT_TRUE(srv.stream(20 + i)->write("data: still here\n\n"));
  for (auto& c : clients) ASSERT_TRUE(c->wait_for("data: still here", 10s));
  // And a drain ends them all at once rather than waiting for its deadline.
  const auto start = Clock::now();
  srv.server().drain(60s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  std::cout << "[ info ] drain with " << kStreams << " open streams took " << took.count() << " ms\n";
  EXPECT_LT(took, 10s);
  EXPECT_TRUE(srv.wait_closed(20 + kStreams, 10s));
}

}  // namespace
}  // namespace pc::net
