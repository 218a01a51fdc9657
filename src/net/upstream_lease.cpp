// The upstream lease and the per-worker pool it draws from (see net/detail/upstream_lease.h).
#include "net/detail/upstream_lease.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <tuple>
#include <vector>

#include "core/log.h"
#include "net/detail/tls_client.h"
#include "net/http.h"

namespace pc::net::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool is_connection_lost(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

constexpr UpstreamFailure kBadResponse{502, "upstream_bad_response", "protocol", "the upstream answer was not valid HTTP"};

}  // namespace

bool quiet(Socket& socket) {
  if (!socket.is_open()) return false;
  char byte;
  ssize_t n;
  do n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// TLS: bytes OpenSSL holds (decrypted, or records read from the socket and not processed) are
// invisible to a socket peek. Bytes Asio holds in its own input buffer, beyond a full BIO pair,
// stay invisible: that takes an upstream sending a TLS record boundary exactly at a full 17 KiB
// BIO after its answer, and is no worse than an upstream answering the next request wrongly.
bool quiet(UpstreamConn& conn) {
  if (conn.tls) {
    SSL* ssl = conn.tls->native_handle();
    if (SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) return false;
  }
  return quiet(conn.tcp().socket());
}

std::string_view bare_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

std::unique_ptr<UpstreamConn> UpstreamPool::take(const std::string& key, milliseconds max_idle) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  auto now = Clock::now();
  while (!list.empty()) {
    auto c = std::move(list.back());
    list.pop_back();
    // Bytes that arrived while idle belong to no caller; a close means the upstream gave it up.
    if (now - c->idle_since < max_idle && quiet(*c)) return c;
  }
  return nullptr;
}

void UpstreamPool::give(const std::string& key, std::unique_ptr<UpstreamConn> conn, std::size_t max_per_host) {
  auto& list = idle_[key];
  if (list.size() >= max_per_host) return;
  conn->idle_since = Clock::now();
  list.push_back(std::move(conn));
}

bool UpstreamLease::take(milliseconds max_idle) {
  conn_ = pool_.take(key_, max_idle);
  if (!conn_) return false;
  state_ = State::reused;
  reused_ = true;
  bytes_sent_ = 0;
  return true;
}

void UpstreamLease::renew(Executor ex, asio::ssl::context* tls) {
  conn_ = tls ? std::make_unique<UpstreamConn>(ex, *tls) : std::make_unique<UpstreamConn>(ex);
  state_ = State::dirty;  // until connected
  reused_ = false;
  bytes_sent_ = 0;
}

Task<std::optional<UpstreamFailure>> UpstreamLease::connect(const ForwardTo& to, milliseconds timeout) {
  auto& stream = conn_->tcp();
  auto ex = stream.get_executor();
  const std::string_view host = bare_host(to.host);
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  const bool literal = !ec;
  const auto deadline = Clock::now() + timeout;
  std::vector<tcp::endpoint> endpoints;
  if (literal) {
    endpoints.emplace_back(addr, to.port);
  } else {
    using namespace asio::experimental::awaitable_operators;
    asio::ip::basic_resolver<tcp, Executor> resolver(ex);
    Timer timer(ex, timeout);
    auto r = co_await (resolver.async_resolve(std::string(host), std::to_string(to.port), use_task) ||
                       timer.async_wait(use_task));
    if (r.index() == 1)
      co_return UpstreamFailure{504, "upstream_timeout", "timeout", "resolving the upstream timed out"};
    auto& [rec, results] = std::get<0>(r);
    if (rec)
      co_return UpstreamFailure{502, "upstream_unavailable", "resolve", "the upstream host could not be resolved"};
    for (const auto& e : results) endpoints.push_back(e.endpoint());
  }
  stream.expires_at(deadline);
  auto [cec, ep] = co_await stream.async_connect(endpoints, use_task);
  if (cec == beast::error::timeout)
    co_return UpstreamFailure{504, "upstream_timeout", "timeout", "connecting to the upstream timed out"};
  if (cec) co_return UpstreamFailure{502, "upstream_unavailable", "connect", "the upstream is not reachable"};
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (conn_->tls) {
    // The identity is checked inside chain verification, so a handshake that completes proved
    // both the chain and the name (or address).
    const std::string name(host);
    if (!bind_peer_identity(conn_->tls->native_handle(), name, literal))
      co_return UpstreamFailure{502, "upstream_unavailable", "tls", "the upstream's TLS identity cannot be checked"};
    auto [hec] = co_await conn_->tls->async_handshake(asio::ssl::stream_base::client, use_task);
    if (hec == beast::error::timeout)
      co_return UpstreamFailure{504, "upstream_timeout", "timeout", "the TLS handshake with the upstream timed out"};
    if (hec) {
      const std::string refusal = certificate_refusal(conn_->tls->native_handle());
      log::warn("upstream TLS handshake failed", {{"upstream", to.upstream_name}, {"host", name},
                                                  {"error", refusal.empty() ? hec.message() : refusal}});
      if (!refusal.empty())
        co_return UpstreamFailure{502, "upstream_unavailable", "tls_certificate",
                                  "the upstream's TLS certificate was not accepted"};
      co_return UpstreamFailure{502, "upstream_unavailable", "tls", "the TLS handshake with the upstream failed"};
    }
  }
  stream.expires_never();
  state_ = State::fresh;
  co_return std::nullopt;
}

Task<std::optional<UpstreamFailure>> UpstreamLease::send(std::string_view request, milliseconds timeout) {
  conn_->tcp().expires_after(timeout);
  const auto out = asio::buffer(request.data(), request.size());
  beast::error_code ec;
  std::size_t n = 0;
  if (conn_->tls) std::tie(ec, n) = co_await asio::async_write(*conn_->tls, out, use_task);
  else std::tie(ec, n) = co_await asio::async_write(*conn_->plain, out, use_task);
  bytes_sent_ = n;
  if (ec) {
    state_ = State::dirty;
    co_return UpstreamFailure{502, "upstream_unavailable", "write", "sending to the upstream failed",
                              is_connection_lost(ec)};
  }
  state_ = State::sent;
  co_return std::nullopt;
}

Task<std::optional<UpstreamFailure>> UpstreamLease::read_final_head(std::optional<ResponseParser>& parser,
                                                                    bool head_request, milliseconds timeout) {
  conn_->tcp().expires_after(timeout);
  state_ = State::dirty;  // until the final head is in
  for (int interim = 0; interim <= kMaxInterimHeads; ++interim) {
    parser.emplace();  // one parser per head: each 1xx is a complete message of its own
    parser->body_limit(boost::none);
    if (head_request) parser->skip(true);
    beast::error_code ec;
    std::size_t n = 0;
    if (conn_->tls) std::tie(ec, n) = co_await http::async_read_header(*conn_->tls, conn_->buffer, *parser, use_task);
    else std::tie(ec, n) = co_await http::async_read_header(*conn_->plain, conn_->buffer, *parser, use_task);
    if (ec == beast::error::timeout)
      co_return UpstreamFailure{504, "upstream_timeout", "timeout", "the upstream did not answer in time"};
    if (ec) {
      UpstreamFailure f = kBadResponse;
      f.connection_lost = interim == 0 && !parser->got_some() && is_connection_lost(ec);
      co_return f;
    }
    const int status = parser->get().result_int();
    // Anything outside 100..599 is not HTTP; 101 would hand the connection to a protocol we
    // never asked for. Neither is relayed.
    if (status < 100 || status > 599 || status == 101) co_return kBadResponse;
    if (status >= 200) {
      state_ = State::head;
      co_return std::nullopt;
    }
    // An interim answer (100 Continue, 103 Early Hints) is not the caller's answer: dropped.
  }
  co_return kBadResponse;  // an endless run of interim answers
}

void UpstreamLease::release(std::size_t max_idle_per_host) {
  if (state_ == State::clean && conn_ && conn_->buffer.size() == 0 && quiet(*conn_)) {
    conn_->tcp().expires_never();
    pool_.give(key_, std::move(conn_), max_idle_per_host);
  }
  conn_.reset();  // closes a connection that was not pooled
  state_ = State::none;
}

}  // namespace pc::net::detail
