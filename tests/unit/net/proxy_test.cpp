// The proxy against a scripted fake upstream: a raw TCP server on 127.0.0.1 that answers each
// request it reads with exactly the bytes the test scripted (interim heads, bodies where none
// may be, bytes after the answer, bad statuses, a close instead of an answer). Each call comes
// from a new client connection, as a different caller would; the worker's upstream pool is shared
// between calls, as it is in the gateway. The question every test asks: does each caller get its
// own answer, and is the upstream asked only what is safe to ask?
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/detail/retry_policy.h"
#include "net/detail/server_state.h"
#include "net/http.h"

namespace pc::net {
namespace {

using namespace std::chrono_literals;

// ---- the scripted upstream -------------------------------------------------------------------

// What the upstream does with the next request it reads.
struct Reply {
  std::string bytes;           // sent at once
  std::string later;           // sent `later_ms` after `bytes` (e.g. a final head after a 100)
  int later_ms = 30;
  bool close_after = false;    // close the connection after answering
  bool close_instead = false;  // read the request, then close without answering
};

class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(std::vector<Reply> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedUpstream() {
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

  // One request: the head, then Content-Length bytes of body. Empty on close or timeout.
  std::string read_request(int c, std::string& buf) {
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
      pollfd p{c, POLLIN, 0};
      if (stop_ || ::poll(&p, 1, 50) < 0) return {};
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[4096];
      ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      buf.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void send_all(int c, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  void serve(int c) {
    std::string buf;
    for (;;) {
      std::string req = read_request(c, buf);
      if (req.empty()) break;
      Reply r;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
        if (next_ >= script_.size()) break;
        r = script_[next_++];
      }
      if (r.close_instead) break;
      send_all(c, r.bytes);
      if (!r.later.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(r.later_ms));
        send_all(c, r.later);
      }
      if (r.close_after) break;
    }
    ::close(c);
  }

  std::vector<Reply> script_;
  std::size_t next_ = 0;
  std::vector<std::string> requests_;
  std::mutex mu_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> handlers_;  // joined at the end; only the acceptor thread adds
};

std::string ok(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

// ---- the gateway side ------------------------------------------------------------------------

// What one client connection received: the first response on it.
struct Answer {
  int status = 0;
  std::string head;
  std::string body;
};

Answer parse_answer(const std::string& raw) {
  Answer a;
  auto end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return a;
  a.status = std::stoi(raw.substr(9, 3));
  a.head = raw.substr(0, end);
  std::string rest = raw.substr(end + 4);
  if (a.head.find("Transfer-Encoding: chunked") == std::string::npos) {
    auto cl = a.head.find("Content-Length: ");
    a.body = cl == std::string::npos ? rest : rest.substr(0, std::stoul(a.head.substr(cl + 16)));
    return a;
  }
  std::size_t i = 0;
  for (;;) {
    auto eol = rest.find("\r\n", i);
    if (eol == std::string::npos) break;
    std::size_t n = std::stoul(rest.substr(i, eol - i), nullptr, 16);
    if (n == 0) break;
    a.body += rest.substr(eol + 2, n);
    i = eol + 2 + n + 2;
  }
  return a;
}

detail::Task<> run_proxy(detail::Worker& w, detail::TcpStream& client, const Request& req, const ForwardTo& to,
                         const detail::Settings& st, detail::ProxyResult& out) {
  out = co_await detail::proxy(w, client, req, to, true, st);
}

class ProxyTest : public ::testing::Test {
 protected:
  ProxyTest() : acceptor_(w_.ioc, detail::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    st_.upstream.connect_timeout_ms = 1000;
    st_.upstream.response_timeout_ms = 2000;
    st_.limits.idle_timeout_ms = 2000;
  }

  // One call from a new client connection: `method` on /invoke, answered through the proxy.
  Answer call(const ScriptedUpstream& up, std::string method, std::string request_id,
              std::vector<Header> headers = {}, std::string body = {}) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(acceptor_.local_endpoint().port());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    detail::TcpStream client(acceptor_.accept());

    Request req;
    req.method = std::move(method);
    req.target = req.path = "/v1/agents/echo/invoke";
    req.headers = std::move(headers);
    req.body = std::move(body);
    req.request_id = std::move(request_id);
    req.remote_address = "127.0.0.1";
    ForwardTo to;
    to.host = "127.0.0.1";
    to.port = up.port();
    to.target = "/invocations";
    to.upstream_name = "scripted";

    detail::ProxyResult result;
    boost::asio::co_spawn(w_.ioc, run_proxy(w_, client, req, to, st_, result), boost::asio::detached);
    w_.ioc.restart();
    w_.ioc.run();
    client.close();  // the client reads to the end of what was sent

    std::string raw;
    char chunk[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      raw.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    Answer ans = parse_answer(raw);
    EXPECT_EQ(ans.status, result.status) << raw;
    return ans;
  }

  detail::Worker w_;
  detail::Settings st_;
  detail::Acceptor acceptor_;
};

std::size_t count_of(const std::vector<std::string>& requests, std::string_view method) {
  std::size_t n = 0;
  for (const auto& r : requests) n += r.starts_with(std::string(method) + " ");
  return n;
}

// ---- item 1: each caller gets its own answer -------------------------------------------------

// The regression of the cross-tenant leak: the interim head was relayed as the answer and the
// connection pooled with the real answer unread, which the next caller then received.
TEST_F(ProxyTest, EarlyHintsAreSkippedAndTheNextCallerGetsItsOwnAnswer) {
  ScriptedUpstream up({{.bytes = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
                                 ok("answer for tenant A")},
                       {.bytes = ok("answer for tenant B")}});
  Answer a = call(up, "POST", "tenant-a-call");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "answer for tenant A");
  Answer b = call(up, "POST", "tenant-b-call");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "answer for tenant B");
  EXPECT_EQ(up.connections(), 1) << "a connection read exactly to its end is pooled and reused";
}

TEST_F(ProxyTest, ContinueThenTheFinalHeadInALaterReadIsOneAnswer) {
  ScriptedUpstream up({{.bytes = "HTTP/1.1 100 Continue\r\n\r\n",
                        .later = "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok("answer A")},
                       {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "POST", "a").body, "answer A");
  EXPECT_EQ(call(up, "POST", "b").body, "answer B");
}

TEST_F(ProxyTest, AnEndlessRunOfInterimHeadsIsABadResponse) {
  std::string many;
  for (int i = 0; i < 40; ++i) many += "HTTP/1.1 103 Early Hints\r\n\r\n";
  ScriptedUpstream up({{.bytes = many + ok("never")}, {.bytes = ok("answer B")}});
  Answer a = call(up, "POST", "a");
  EXPECT_EQ(a.status, 502);
  EXPECT_NE(a.body.find("upstream_bad_response"), std::string::npos) << a.body;
  EXPECT_EQ(call(up, "POST", "b").body, "answer B");
}

TEST_F(ProxyTest, NoContentWithBodyBytesIsNotPooled) {
  ScriptedUpstream up({{.bytes = "HTTP/1.1 204 No Content\r\n\r\n" + ok("leaked from A")}, {.bytes = ok("answer B")}});
  Answer a = call(up, "POST", "a");
  EXPECT_EQ(a.status, 204);
  EXPECT_EQ(a.body, "");
  Answer b = call(up, "POST", "b");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "answer B");
  EXPECT_EQ(up.connections(), 2);
}

TEST_F(ProxyTest, NotModifiedWithBodyBytesIsNotPooled) {
  ScriptedUpstream up({{.bytes = "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n" + ok("leaked from A")},
                       {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "GET", "a").status, 304);
  Answer b = call(up, "GET", "b");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "answer B");
}

TEST_F(ProxyTest, HeadAnsweredWithABodyIsNotPooled) {
  ScriptedUpstream up({{.bytes = ok("leaked from A")}, {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "HEAD", "a").status, 200);
  EXPECT_EQ(call(up, "GET", "b").body, "answer B");
}

// Bytes after a Content-Length answer whose body came with its head (the fast path).
TEST_F(ProxyTest, BytesAfterABufferedAnswerAreNotPooled) {
  ScriptedUpstream up({{.bytes = ok("answer A") + ok("leaked from A")}, {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "POST", "a").body, "answer A");
  EXPECT_EQ(call(up, "POST", "b").body, "answer B");
}

// Bytes after an answer relayed read by read (its body arrived after the head).
TEST_F(ProxyTest, BytesAfterAStreamedAnswerAreNotPooled) {
  ScriptedUpstream up({{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nansw",
                        .later = "er A" + ok("leaked from A")},
                       {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "POST", "a").body, "answer A");
  EXPECT_EQ(call(up, "POST", "b").body, "answer B");
}

TEST_F(ProxyTest, ChunkedAnswerWithBytesAfterItIsNotPooled) {
  ScriptedUpstream up({{.bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                        .later = "8\r\nanswer A\r\n0\r\n\r\n" + ok("leaked from A")},
                       {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "POST", "a").body, "answer A");
  EXPECT_EQ(call(up, "POST", "b").body, "answer B");
}

// Stray bytes that arrive while the connection sits idle in the pool: discarded when taken.
TEST_F(ProxyTest, AConnectionThatBecameReadableWhileIdleIsDiscarded) {
  ScriptedUpstream up({{.bytes = ok("answer A"), .later = ok("leaked from A"), .later_ms = 20},
                       {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "POST", "a").body, "answer A");
  std::this_thread::sleep_for(300ms);  // generous: the stray bytes are sent 20 ms after the answer
  EXPECT_EQ(call(up, "POST", "b").body, "answer B");
  EXPECT_EQ(up.connections(), 2);
}

TEST_F(ProxyTest, SwitchingProtocolsIsAnUpstreamError) {
  ScriptedUpstream up({{.bytes = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
                                 "binary frames"},
                       {.bytes = ok("answer B")}});
  Answer a = call(up, "POST", "a");
  EXPECT_EQ(a.status, 502);
  EXPECT_NE(a.body.find("upstream_bad_response"), std::string::npos) << a.body;
  Answer b = call(up, "POST", "b");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "answer B");
}

TEST_F(ProxyTest, StatusesOutside100To599AreNeverRelayed) {
  for (const char* status : {"000", "999", "600", "099"}) {
    SCOPED_TRACE(status);
    ScriptedUpstream up({{.bytes = std::string("HTTP/1.1 ") + status + " Odd\r\nContent-Length: 2\r\n\r\nhi"}});
    Answer a = call(up, "POST", "odd");
    EXPECT_EQ(a.status, 502);
    EXPECT_NE(a.body.find("upstream_bad_response"), std::string::npos) << a.body;
  }
}

// ---- item 7: what is sent again ------------------------------------------------------------

// The upstream reads the second POST and closes without answering: it may have acted on it, so
// the gateway answers 502 instead of sending it again.
TEST_F(ProxyTest, APostLostOnAReusedConnectionIsNotSentTwice) {
  ScriptedUpstream up({{.bytes = ok("answer A")}, {.close_instead = true}, {.bytes = ok("answer C")}});
  EXPECT_EQ(call(up, "POST", "a").body, "answer A");
  Answer b = call(up, "POST", "b", {}, R"({"input":"charge the card"})");
  EXPECT_EQ(b.status, 502);
  EXPECT_NE(b.body.find("upstream_bad_response"), std::string::npos) << b.body;
  EXPECT_EQ(count_of(up.requests(), "POST"), 2u) << "the POST reached the upstream twice";
  EXPECT_EQ(call(up, "POST", "c").body, "answer C");
}

TEST_F(ProxyTest, AGetLostOnAReusedConnectionIsRetriedOnceOnAFreshOne) {
  ScriptedUpstream up({{.bytes = ok("answer A")}, {.close_instead = true}, {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "GET", "a").body, "answer A");
  Answer b = call(up, "GET", "b");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "answer B");
  EXPECT_EQ(count_of(up.requests(), "GET"), 3u);
  EXPECT_EQ(up.connections(), 2);
}

TEST_F(ProxyTest, AGetLostTwiceIsNotRetriedAgain) {
  ScriptedUpstream up({{.bytes = ok("answer A")}, {.close_instead = true}, {.close_instead = true},
                       {.bytes = ok("never")}});
  EXPECT_EQ(call(up, "GET", "a").body, "answer A");
  EXPECT_EQ(call(up, "GET", "b").status, 502);
  EXPECT_EQ(count_of(up.requests(), "GET"), 3u);
}

// The common stale case: the upstream closed the idle connection before it was taken. The
// close is seen at take, so even a POST goes out once, on a fresh connection, and succeeds.
TEST_F(ProxyTest, AnIdleConnectionTheUpstreamClosedIsNotUsed) {
  ScriptedUpstream up({{.bytes = ok("answer A"), .close_after = true}, {.bytes = ok("answer B")}});
  EXPECT_EQ(call(up, "POST", "a").body, "answer A");
  std::this_thread::sleep_for(300ms);  // generous: the close follows the answer at once
  Answer b = call(up, "POST", "b");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "answer B");
  EXPECT_EQ(count_of(up.requests(), "POST"), 2u);
}

TEST(RetryPolicy, RepeatsOnlyWhatCannotRunTwice) {
  using detail::FailedAttempt;
  using detail::may_retry;
  const FailedAttempt lost_after_send{.reused = true, .connection_lost = true, .bytes_sent = 120};
  EXPECT_TRUE(may_retry("GET", lost_after_send));
  EXPECT_TRUE(may_retry("HEAD", lost_after_send));
  EXPECT_TRUE(may_retry("OPTIONS", lost_after_send));
  for (const char* m : {"POST", "PATCH", "PUT", "DELETE"}) EXPECT_FALSE(may_retry(m, lost_after_send)) << m;
  // Nothing of the request left the gateway: the upstream cannot have acted on it.
  EXPECT_TRUE(may_retry("POST", {.reused = true, .connection_lost = true, .bytes_sent = 0}));
  // A fresh connection's failure is the upstream's, not staleness; a timeout or a broken answer
  // is not a lost connection.
  EXPECT_FALSE(may_retry("GET", {.reused = false, .connection_lost = true, .bytes_sent = 0}));
  EXPECT_FALSE(may_retry("GET", {.reused = true, .connection_lost = false, .bytes_sent = 120}));
}

// ---- item 17: what reaches the agent --------------------------------------------------------

TEST_F(ProxyTest, ClientAddressClaimsNeverReachTheAgent) {
  ScriptedUpstream up({{.bytes = ok("answer")}});
  Answer a = call(up, "POST", "ip-call",
                  {{"X-Real-IP", "10.6.6.6"}, {"True-Client-IP", "10.6.6.7"}, {"CF-Connecting-IP", "10.6.6.8"},
                   {"X-Client-IP", "10.6.6.9"}, {"X-Cluster-Client-IP", "10.6.6.10"}, {"Fastly-Client-IP", "10.6.6.11"},
                   {"X-Forwarded-For", "10.6.6.12"}, {"Forwarded", "for=10.6.6.13"}, {"X-Keep", "yes"}});
  EXPECT_EQ(a.status, 200);
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].find("10.6.6."), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("X-Forwarded-For: 127.0.0.1\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("X-Keep: yes\r\n"), std::string::npos) << reqs[0];
}

}  // namespace
}  // namespace pc::net
