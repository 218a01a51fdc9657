// fetch() against real sockets on 127.0.0.1: a tiny one-thread server (plain POSIX sockets, or
// OpenSSL on top with a certificate made here) that answers every connection with canned bytes.
#include "net/http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <iterator>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

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

// ---- the test server -------------------------------------------------------------------------

// Serves each connection in turn on its own thread: reads the request (head and a
// Content-Length body), records it, writes `reply` and closes. Silent: reads until the client
// hangs up and never answers. Every wait polls `stop_`, so the destructor always joins promptly.
class TestServer {
 public:
  enum class Mode { answer, silent };

  explicit TestServer(std::string reply, SSL_CTX* tls = nullptr, Mode mode = Mode::answer)
      : reply_(std::move(reply)), tls_(tls), mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string url(std::string_view path = "/") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::string request() const {
    std::lock_guard lock(mu_);
    return request_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) != 1) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++connections_;
      timeval tv{0, 20000};  // short waits, so stop_ is seen
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      SSL* ssl = nullptr;
      if (tls_) {
        ssl = SSL_new(tls_);
        SSL_set_fd(ssl, c);
      }
      serve(c, ssl);
      if (ssl) SSL_free(ssl);
      ::close(c);
    }
  }

  bool retry(Clock::time_point give_up) const { return !stop_ && Clock::now() < give_up; }

  void serve(int c, SSL* ssl) {
    const auto give_up = Clock::now() + 10s;
    if (ssl) {
      int r;
      while ((r = SSL_accept(ssl)) <= 0)
        if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ || !retry(give_up)) return;  // client refused us
    }
    std::string in;
    char buf[4096];
    auto read_some = [&]() -> bool {
      for (;;) {
        long n = ssl ? SSL_read(ssl, buf, sizeof buf) : ::recv(c, buf, sizeof buf, 0);
        if (n > 0) {
          in.append(buf, static_cast<std::size_t>(n));
          return true;
        }
        bool again = ssl ? SSL_get_error(ssl, static_cast<int>(n)) == SSL_ERROR_WANT_READ
                         : n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
        if (!again || !retry(give_up)) return false;
      }
    };
    std::size_t head_end;
    while ((head_end = in.find("\r\n\r\n")) == std::string::npos)
      if (!read_some()) return;
    std::string head = in.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
    std::size_t body_len = 0;
    if (auto p = head.find("\r\ncontent-length:"); p != std::string::npos)
      body_len = std::stoul(head.substr(p + 17));
    while (in.size() < head_end + 4 + body_len)
      if (!read_some()) return;
    {
      std::lock_guard lock(mu_);
      request_ = in;
    }
    if (mode_ == Mode::silent) {
      while (read_some()) {
      }
      return;
    }
    std::size_t sent = 0;
    while (sent < reply_.size()) {
      long n = ssl ? SSL_write(ssl, reply_.data() + sent, static_cast<int>(reply_.size() - sent))
                   : ::send(c, reply_.data() + sent, reply_.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<std::size_t>(n);
      else if (!retry(give_up)) return;  // the client stopped reading (e.g. over its limit)
    }
    if (ssl) SSL_shutdown(ssl);
  }

  std::string reply_;
  SSL_CTX* tls_;
  Mode mode_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::string request_;
  std::thread thread_;
};

std::string ok_reply(std::string_view body, std::string_view extra_headers = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra_headers) +
         "\r\n" + std::string(body);
}

// The message of the FetchError that `f` throws ("" when it does not throw).
template <typename F>
std::string fetch_error(F&& f) {
  try {
    f();
  } catch (const FetchError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no FetchError";
  return "";
}

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---- plain http ------------------------------------------------------------------------------

TEST(HttpClient, GetReturnsStatusHeadersAndBody) {
  TestServer srv(ok_reply(R"({"keys":[]})", "Content-Type: application/json\r\nX-Thing: a\r\nX-Thing: b\r\n"));
  FetchOptions o;
  o.headers.push_back({"Accept", "application/json"});
  auto r = fetch(srv.url("/jwks.json?v=1#frag"), o);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"keys":[]})");
  ASSERT_NE(r.header("content-type"), nullptr);
  EXPECT_EQ(*r.header("CONTENT-TYPE"), "application/json");
  ASSERT_NE(r.header("x-thing"), nullptr);
  EXPECT_EQ(*r.header("x-thing"), "a");  // first match
  EXPECT_EQ(r.header("x-missing"), nullptr);

  const std::string req = srv.request();
  EXPECT_EQ(req.rfind("GET /jwks.json?v=1 HTTP/1.1\r\n", 0), 0u) << req;  // no fragment
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(srv.port()) + "\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nUser-Agent: portcullis/" PORTCULLIS_VERSION "\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nConnection: close\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nAccept: application/json\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("Accept-Encoding"), std::string::npos) << req;
}

TEST(HttpClient, PostSendsTheBodyWithContentLength) {
  TestServer srv(ok_reply("{}"));
  FetchOptions o;
  o.method = "POST";
  o.body = "grant_type=client_credentials";
  o.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  auto r = fetch(srv.url("/token"), o);
  EXPECT_EQ(r.status, 200);
  const std::string req = srv.request();
  EXPECT_EQ(req.rfind("POST /token HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nContent-Length: 29\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nContent-Type: application/x-www-form-urlencoded\r\n"), std::string::npos) << req;
  EXPECT_TRUE(req.ends_with("\r\n\r\ngrant_type=client_credentials")) << req;
}

TEST(HttpClient, ChunkedResponseIsReassembled) {
  TestServer srv("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto r = fetch(srv.url());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
}

TEST(HttpClient, BodyEndingAtCloseIsRead) {
  TestServer srv("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
  EXPECT_EQ(fetch(srv.url()).body, "until the end");
}

TEST(HttpClient, InterimResponsesAreSkipped) {
  TestServer srv("HTTP/1.1 100 Continue\r\n\r\n" + ok_reply("ok"));
  auto r = fetch(srv.url());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
}

TEST(HttpClient, NotFoundIsAResult) {
  TestServer srv("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
  auto r = fetch(srv.url("/missing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "not found");
}

TEST(HttpClient, RedirectIsReturnedNotFollowed) {
  TestServer srv("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n");
  auto r = fetch(srv.url());
  EXPECT_EQ(r.status, 302);
  ASSERT_NE(r.header("location"), nullptr);
  EXPECT_EQ(*r.header("location"), "http://127.0.0.1:1/elsewhere");
  EXPECT_EQ(srv.connections(), 1);
}

TEST(HttpClient, DeclaredBodyOverTheCapFails) {
  TestServer srv(ok_reply(std::string(101, 'x')));
  FetchOptions o;
  o.max_body_bytes = 100;
  EXPECT_NE(fetch_error([&] { fetch(srv.url(), o); }).find("exceeds 100 bytes"), std::string::npos);
  o.max_body_bytes = 101;
  EXPECT_EQ(fetch(srv.url(), o).body.size(), 101u);
}

TEST(HttpClient, ChunkedBodyOverTheCapFails) {
  std::string reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) reply += "a\r\n0123456789\r\n";
  reply += "0\r\n\r\n";
  TestServer srv(reply);
  FetchOptions o;
  o.max_body_bytes = 150;
  EXPECT_NE(fetch_error([&] { fetch(srv.url(), o); }).find("exceeds 150 bytes"), std::string::npos);
}

TEST(HttpClient, OversizedResponseHeaderFails) {
  TestServer srv("HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'h') + "\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(fetch_error([&] { fetch(srv.url()); }).find("response header exceeds"), std::string::npos);
}

TEST(HttpClient, SilentServerTimesOut) {
  TestServer srv("", nullptr, TestServer::Mode::silent);
  FetchOptions o;
  o.timeout = 300ms;
  auto start = Clock::now();
  auto msg = fetch_error([&] { fetch(srv.url(), o); });
  auto elapsed = Clock::now() - start;
  EXPECT_NE(msg.find("timed out after 300 ms"), std::string::npos) << msg;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 600ms);
}

TEST(HttpClient, ConnectionRefusedFails) {
  auto msg = fetch_error([&] { fetch("http://127.0.0.1:" + std::to_string(closed_port()) + "/"); });
  EXPECT_NE(msg.find("connecting failed"), std::string::npos) << msg;
}

// ---- what is refused before any connection --------------------------------------------------

TEST(HttpClient, PlainHttpToNonLoopbackIsRefusedWithoutConnecting) {
  FetchOptions o;
  o.timeout = 10s;
  auto start = Clock::now();
  auto msg = fetch_error([&] { fetch("http://192.0.2.1/.well-known/openid-configuration", o); });
  EXPECT_LT(Clock::now() - start, 200ms);
  EXPECT_NE(msg.find("plain http is only allowed to loopback"), std::string::npos) << msg;
  EXPECT_NE(fetch_error([&] { fetch("http://[2001:db8::1]:8080/", o); }).find("only allowed to loopback"),
            std::string::npos);
}

TEST(HttpClient, PlainHttpToLoopbackNameIsAllowed) {
  TestServer srv(ok_reply("ok"));
  auto r = fetch("http://localhost:" + std::to_string(srv.port()) + "/");
  EXPECT_EQ(r.body, "ok");
  EXPECT_NE(srv.request().find("\r\nHost: localhost:" + std::to_string(srv.port()) + "\r\n"), std::string::npos);
}

// The resolver's helper thread belongs to the call's own io_context and ends with it.
TEST(HttpClient, NoThreadOutlivesTheCall) {
  TestServer srv(ok_reply("ok"));
  auto threads = [] {
    auto it = std::filesystem::directory_iterator("/proc/self/task");
    return std::distance(begin(it), end(it));
  };
  const auto before = threads();
  EXPECT_EQ(fetch("http://localhost:" + std::to_string(srv.port()) + "/").body, "ok");
  EXPECT_EQ(threads(), before);
}

TEST(HttpClient, PlainHttpCanBeDisallowedEvenToLoopback) {
  TestServer srv(ok_reply("ok"));
  FetchOptions o;
  o.allow_http_loopback = false;
  EXPECT_NE(fetch_error([&] { fetch(srv.url(), o); }).find("plain http is not allowed"), std::string::npos);
  EXPECT_EQ(srv.connections(), 0);
}

TEST(HttpClient, UserinfoIsRefused) {
  TestServer srv(ok_reply("ok"));
  auto msg = fetch_error([&] { fetch("http://admin:hunter2@127.0.0.1:" + std::to_string(srv.port()) + "/", {}); });
  EXPECT_NE(msg.find("credentials in the URL"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("admin"), std::string::npos) << msg;
  EXPECT_EQ(srv.connections(), 0);
}

TEST(HttpClient, OnlyHttpAndHttpsUrls) {
  EXPECT_NE(fetch_error([] { fetch("ftp://127.0.0.1/keys"); }).find("unsupported scheme"), std::string::npos);
  EXPECT_NE(fetch_error([] { fetch("file:///etc/passwd"); }).find("unsupported scheme"), std::string::npos);
  EXPECT_EQ(fetch_error([] { fetch("not a url"); }), "fetch: invalid URL");
  EXPECT_EQ(fetch_error([] { fetch("/relative/path"); }), "fetch: invalid URL");
  EXPECT_NE(fetch_error([] { fetch("https:///nohost"); }).find("host"), std::string::npos);
  EXPECT_NE(fetch_error([] { fetch("http://127.0.0.1:99999/"); }).find("invalid port"), std::string::npos);
  EXPECT_NE(fetch_error([] { fetch("http://127.0.0.1:65536/"); }).find("invalid port"), std::string::npos);
  EXPECT_NE(fetch_error([] { fetch("http://127.0.0.1:0/"); }).find("invalid port"), std::string::npos);
  EXPECT_NE(fetch_error([] { fetch("https://bad%0ahost/"); }).find("invalid host name"), std::string::npos);
}

TEST(HttpClient, ErrorMessagesLeaveOutTheQuery) {
  auto msg = fetch_error([] { fetch("http://127.0.0.1:" + std::to_string(closed_port()) + "/jwks?token=s3cret#x"); });
  EXPECT_NE(msg.find("/jwks"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("s3cret"), std::string::npos) << msg;
}

TEST(HttpClient, RequestHeadersAreChecked) {
  FetchOptions o;
  o.headers.push_back({"X-Evil", "a\r\nInjected: yes"});
  EXPECT_NE(fetch_error([&] { fetch("http://127.0.0.1:1/", o); }).find("invalid request header"), std::string::npos);
  o.headers = {{"Accept-Encoding", "gzip"}};
  EXPECT_NE(fetch_error([&] { fetch("http://127.0.0.1:1/", o); }).find("set by the client"), std::string::npos);
  o.headers = {{"Host", "elsewhere"}};
  EXPECT_NE(fetch_error([&] { fetch("http://127.0.0.1:1/", o); }).find("set by the client"), std::string::npos);
  o.headers.clear();
  o.method = "GET /x HTTP/1.1\r\n";
  EXPECT_NE(fetch_error([&] { fetch("http://127.0.0.1:1/", o); }).find("invalid request method"), std::string::npos);
}

// ---- https -----------------------------------------------------------------------------------

class HttpClientTls : public ::testing::Test {
 protected:
  // Writes `c` as the only trust anchor and returns its path.
  std::string trust(const Cert& c) {
    std::string path = dir_.file("ca.pem");
    std::ofstream(path) << c.pem;
    return path;
  }
  pc::testing::TempDir dir_{"pc-http-client"};
};

TEST_F(HttpClientTls, TrustedCertificateForTheHostSucceeds) {
  Cert cert = make_cert("IP:127.0.0.1,DNS:localhost");
  SslCtx ctx = server_tls(cert);
  TestServer srv(ok_reply(R"({"issuer":"x"})"), ctx.get());
  FetchOptions o;
  o.ca_file = trust(cert);
  auto r = fetch(srv.url("/.well-known/openid-configuration"), o);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"issuer":"x"})");
  EXPECT_EQ(srv.request().rfind("GET /.well-known/openid-configuration HTTP/1.1\r\n", 0), 0u);

  auto by_name = fetch("https://localhost:" + std::to_string(srv.port()) + "/", o);  // SNI + DNS SAN
  EXPECT_EQ(by_name.status, 200);
}

TEST_F(HttpClientTls, SystemStoreDoesNotTrustASelfSignedCertificate) {
  Cert cert = make_cert("IP:127.0.0.1,DNS:localhost");
  SslCtx ctx = server_tls(cert);
  TestServer srv(ok_reply("secret keys"), ctx.get());
  auto msg = fetch_error([&] { fetch(srv.url()); });
  EXPECT_NE(msg.find("certificate was not accepted"), std::string::npos) << msg;
}

TEST_F(HttpClientTls, CertificateForAnotherHostIsRefused) {
  Cert cert = make_cert("DNS:other.example");
  SslCtx ctx = server_tls(cert);
  TestServer srv(ok_reply("secret keys"), ctx.get());
  FetchOptions o;
  o.ca_file = trust(cert);
  auto msg = fetch_error([&] { fetch(srv.url(), o); });
  EXPECT_NE(msg.find("certificate was not accepted"), std::string::npos) << msg;
  msg = fetch_error([&] { fetch("https://localhost:" + std::to_string(srv.port()) + "/", o); });
  EXPECT_NE(msg.find("certificate was not accepted"), std::string::npos) << msg;
}

TEST_F(HttpClientTls, UnreadableCaFileFails) {
  FetchOptions o;
  o.ca_file = dir_.file("missing.pem");
  EXPECT_NE(fetch_error([&] { fetch("https://127.0.0.1:1/", o); }).find("trust anchors"), std::string::npos);
}

}  // namespace
}  // namespace pc::net
