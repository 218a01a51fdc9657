// Private to src/net: one upstream connection held for the length of one exchange.
//
// An HTTP/1.1 connection carries answers in order and nothing marks whose answer a byte belongs
// to. A connection returned to the pool with any part of an answer unread would hand that answer
// to the next caller on it, of any tenant. So the lease tracks how far the exchange got, and
// release() pools a connection only when its answer was read exactly to its end:
//
//   fresh | reused  --send-->  sent  --read_final_head-->  head  --relaying-->  relaying
//        --finished(keep_alive)-->  clean        (anything else, or any error: dirty)
//
// release() pools `clean` connections with nothing buffered and nothing readable on the socket;
// every other state closes the connection. take() discards pooled connections that became
// readable while idle (stray bytes, or the upstream's close).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/detail/asio.h"
#include "net/detail/retry_policy.h"
#include "net/detail/server_state.h"

namespace pc::net::detail {

// Why an upstream call failed, as the client and the metrics see it.
struct UpstreamFailure {
  int status;                    // 502 or 504
  std::string_view code;         // SPEC error code
  std::string_view kind;         // metrics label
  std::string_view message;
  bool connection_lost = false;  // closed or reset before any byte of the answer (retry policy)
};

using ResponseParser = http::response_parser<http::buffer_body>;

// Interim (1xx) heads skipped before the final one; more is a broken upstream. Time is bounded
// separately: all heads must arrive within one response timeout.
inline constexpr int kMaxInterimHeads = 16;

// True when the socket is open with nothing to read: no stray bytes, no close from the peer. One
// non-blocking peek.
bool quiet(Socket& socket);
// The same for a connection, TLS included: nothing decrypted and unread, no TLS record waiting.
bool quiet(UpstreamConn& conn);

// A host as the socket layer wants it: an IPv6 literal without its brackets.
std::string_view bare_host(std::string_view host);

class UpstreamLease {
 public:
  enum class State { none, fresh, reused, sent, head, relaying, clean, dirty };

  UpstreamLease(UpstreamPool& pool, std::string key) : pool_(pool), key_(std::move(key)) {}
  UpstreamLease(const UpstreamLease&) = delete;
  UpstreamLease& operator=(const UpstreamLease&) = delete;

  // An idle pooled connection (state reused); false when there is none.
  bool take(std::chrono::milliseconds max_idle);
  // A new, unconnected stream replacing any connection held: stream() is valid from here on, so
  // the caller can cancel the connect. `tls` set: an https connection verified with it.
  void renew(Executor ex, asio::ssl::context* tls);
  // Connects the renewed stream (state fresh): TCP, then for https the TLS handshake, which
  // must verify the peer's chain and its identity as `to.host`. One timeout for both.
  Task<std::optional<UpstreamFailure>> connect(const ForwardTo& to, std::chrono::milliseconds timeout);
  // Writes the whole request (state sent).
  Task<std::optional<UpstreamFailure>> send(std::string_view request, std::chrono::milliseconds timeout);
  // Reads heads until the final one (state head): interim 1xx heads are read and dropped; 101
  // (we never ask to switch protocols) and statuses outside 100..599 are upstream errors. All
  // heads must arrive within `timeout`. `parser` holds the final head afterwards.
  Task<std::optional<UpstreamFailure>> read_final_head(std::optional<ResponseParser>& parser, bool head_request,
                                                       std::chrono::milliseconds timeout);
  void relaying() { state_ = State::relaying; }
  // The answer was read to its end; an upstream that keeps the connection makes it clean.
  void finished(bool upstream_keep_alive) { state_ = upstream_keep_alive ? State::clean : State::dirty; }
  // Pools the connection if clean, with nothing buffered and nothing readable; closes it otherwise.
  void release(std::size_t max_idle_per_host);

  State state() const { return state_; }
  FailedAttempt attempt(const UpstreamFailure& f) const { return {reused_, f.connection_lost, bytes_sent_}; }
  TcpStream& stream() { return conn_->tcp(); }  // the TCP layer: timeouts, cancellation
  TlsStream* tls() { return conn_->tls ? &*conn_->tls : nullptr; }  // https: read and write here
  TcpStream& plain() { return *conn_->plain; }                        // http: read and write here
  beast::flat_buffer& buffer() { return conn_->buffer; }

 private:
  UpstreamPool& pool_;
  std::string key_;
  std::unique_ptr<UpstreamConn> conn_;
  State state_ = State::none;
  bool reused_ = false;
  std::size_t bytes_sent_ = 0;
};

}  // namespace pc::net::detail
