// The narrow HTTP interface between the network layer and everything above it.
// No Boost.Beast or Asio here: handlers, services and tests include this, not the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pc::net {

struct Header {
  std::string name;
  std::string value;
};

bool iequals(std::string_view a, std::string_view b);

// The method as a metric label: one of GET HEAD POST PUT PATCH DELETE OPTIONS TRACE CONNECT,
// else "other". Clients choose methods freely; labels must come from a fixed set.
std::string_view method_label(std::string_view method);

// A fully read request (bodies are bounded by server.limits.max_body_bytes, so buffering them
// is safe, and the auth and interceptor stages need them whole anyway).
struct Request {
  std::string method;  // "GET", "POST", …
  std::string target;  // as received: path and query
  std::string path;    // target before '?'
  std::string query;   // target after '?', without it
  unsigned version = 11;  // HTTP/1.x as 10 or 11
  std::vector<Header> headers;
  std::string body;
  std::string request_id;
  // The client's IP: the peer, or (edge, issue 12) the address a trusted proxy named in
  // X-Forwarded-For (docs/edge.md). What logs, audit and per-address budgets use.
  std::string remote_address;
  std::string peer_address;  // edge (issue 12): the TCP peer, whatever X-Forwarded-For says
  bool tls = false;
  std::vector<std::pair<std::string, std::string>> params;  // path parameters from the router
  // Matched route pattern, for metrics and logs. Points at the router's own copy or a literal,
  // both of which outlive the request, so it is also a stable identity for per-route caches.
  std::string_view route;

  const std::string* header(std::string_view name) const;  // first match, case-insensitive
  std::string_view param(std::string_view name) const;     // "" when absent
};

struct Response;

// The upstream's whole answer, handed to ForwardTo::transform (buffered mode).
struct UpstreamAnswer {
  int status = 0;
  std::string content_type;     // "" when the upstream sent none
  std::vector<Header> headers;  // end-to-end fields only (hop-by-hop ones removed)
  std::string body;             // at most ForwardTo::max_buffered_bytes

  const std::string* header(std::string_view name) const;  // first match, case-insensitive
};

// How one forward ended, for ForwardTo::on_outcome.
struct ForwardOutcome {
  int status = 0;  // what the client saw; 499: the client went away
  // "" (the upstream's answer was relayed or transformed whole), or one of upstream_unavailable,
  // upstream_timeout, upstream_bad_response, upstream_broken (the answer broke off after our head
  // went out), client_gone.
  std::string error;
  int upstream_status = 0;  // the upstream's final status; 0 when no final head arrived
  std::string captured;     // relay: the first capture_limit body bytes; buffered: the body
  bool truncated = false;   // captured is not the whole body (limit reached, or the body broke off)
};

// Tells the network layer to forward the request to an upstream and stream the answer back.
//
// Three ways the answer reaches the client:
//  - relay (default): relayed as it arrives, never buffered whole; `capture_limit` keeps a copy
//    of the body's start, `sse_heartbeat` keeps an idle text/event-stream alive;
//  - buffered (`transform` set): the whole answer is read (at most max_buffered_bytes, else 502
//    upstream_bad_response) and the Response transform returns is what the client gets;
//  - an upstream failure before any byte went out: a SPEC error answer (502/504).
struct ForwardTo {
  std::string host;  // IP literal (IPv6 with or without brackets) or name
  std::uint16_t port = 80;
  std::string target;                    // path (and query) on the upstream
  std::vector<Header> set_headers;       // added after the inbound headers are copied
  std::optional<std::string> body;       // replaces the inbound body when set
  std::string upstream_name;             // for metrics and logs, e.g. "agent:echo"
  // Called on the connection's thread once the exchange ended, with the status the client saw
  // (499: the client went away). Keep it short: it runs on an I/O thread.
  std::function<void(int status)> on_complete;

  // "http" or "https". https: TLS 1.2+, the certificate chain verified against `ca_file` (PEM)
  // or, when empty, server.upstream.ca_file, else the system trust store; the certificate must
  // name `host` (DNS name, or IP address for a literal). Connections are pooled per scheme, host,
  // port and trust anchors: an https and an http upstream never share one.
  std::string scheme = "http";
  std::string ca_file;
  // Time for the final head, and between two body reads when relaying (buffered: for the whole
  // body after the head). 0: server.upstream.response_timeout_ms.
  std::chrono::milliseconds response_timeout{0};
  // Set: buffered mode. Runs on the I/O thread with the upstream's whole answer (any status);
  // its Response (never a forward) is sent. A throw answers 502 upstream_bad_response.
  std::function<Response(UpstreamAnswer&&)> transform;
  std::size_t max_buffered_bytes = 4u << 20;
  // Relay mode: keep a copy of the first N bytes of the relayed body for on_outcome. 0: none.
  std::size_t capture_limit = 0;
  // Relay of a text/event-stream whose length is not fixed: after this long without a byte to
  // the client, ": keep-alive\n\n" is sent (only between events). 0: never.
  std::chrono::milliseconds sse_heartbeat{0};
  // Called once, on the connection's thread, when the exchange ended (after on_complete's
  // status is known). Keep it short: it runs on an I/O thread.
  std::function<void(ForwardOutcome&&)> on_outcome;
};

// A response the handler keeps writing after it was handed over: server-sent events (the MCP GET
// stream, an MCP POST answered as a stream). Thread-safe; shared by the handler (or whatever
// produces events) and the connection. The connection sends the head (Response::status,
// content_type, headers; chunked, or close-delimited for HTTP/1.0), then every write in order,
// then the end once close() was called and the queue drained. (issue 10, area "net")
class ResponseStream {
 public:
  struct Options {
    std::size_t max_queued_bytes = 1u << 20;  // a client this far behind is cut off (stream closed)
    std::chrono::milliseconds heartbeat{0};   // idle this long: ": keep-alive\n\n" is sent. 0: never
  };
  ResponseStream();
  explicit ResponseStream(Options o);
  ~ResponseStream();
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;

  // Queues bytes for the client. False (and nothing queued) once the stream is closed: close()
  // was called, the client went away, or it fell max_queued_bytes behind.
  bool write(std::string bytes);
  // Ends the response once what was queued is written. Idempotent.
  void close();
  bool closed() const;
  // Runs once when the stream ends for any reason (closed and drained, client gone, cut off), on
  // the connection's thread, or at once (on the caller's thread) if it ended already. One callback;
  // a second call replaces the first.
  void on_closed(std::function<void()> fn);
  // keeps `token` alive until the stream ends for any reason (then drops
  // it, on the connection's thread); dropped at once when it has ended already. Any number of
  // holders: the limit stage's concurrency slot is released this way, whatever on_closed does.
  void hold_until_closed(std::shared_ptr<const void> token);

  struct State;  // private to src/net
  std::shared_ptr<State> state() const { return state_; }

 private:
  std::shared_ptr<State> state_;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<Header> headers;
  std::string body;
  std::optional<ForwardTo> forward;  // set: proxy instead of answering
  // Set: the head goes out now and the body is whatever the stream is given (issue 10); `body`
  // must be empty.
  std::shared_ptr<ResponseStream> stream;
  // An extra audit event this answer stands for (e.g. "security.tenant_access_violation"),
  // recorded by the API layer's audit trail beside the call itself; never sent.
  std::string audit_action;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response proxy(ForwardTo to);
  static Response streamed(int status, std::string content_type, std::shared_ptr<ResponseStream> stream);
};

// SPEC §5 error shape: {"error":{"code","message","requestId","details":[]}}.
std::string error_body(std::string_view code, std::string_view message, std::string_view request_id);
Response error_response(int status, std::string_view code, std::string_view message,
                        std::string_view request_id);

// Completes one request exactly once, from any thread; the network layer hops back to the
// connection's own thread. Copies share one state; when the last copy is dropped unanswered the
// request is answered 500 (a handler bug must not hang the client). Not thread-safe against
// two threads answering at once: one owner answers.
class Responder {
 public:
  using Fn = std::function<void(Response&&)>;
  explicit Responder(Fn fn);
  void operator()(Response&& r);
  void operator()(Response& r) { (*this)(std::move(r)); }

 private:
  struct State;
  std::shared_ptr<State> state_;
};

using Handler = std::function<void(std::shared_ptr<Request>, Responder)>;

// A header value is safe to echo back as X-Request-Id: 1–128 chars of [A-Za-z0-9._:-].
bool is_valid_request_id(std::string_view id);
std::string new_request_id();

}  // namespace pc::net
