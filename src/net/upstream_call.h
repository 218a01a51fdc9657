// Calls the gateway makes on its own behalf to an upstream (MCP servers: initialize, tools/list
// fan-out, tools/call; external interceptor hooks), on the server's event loops and its pooled
// keep-alive connections. Unlike ForwardTo (one forward that answers one client request), a
// handler may make any number of these, in sequence or in parallel, and decide what to answer.
//
// No Boost.Beast or Asio here (this header is included by services).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.h"

namespace pc::net {

struct UpstreamCall {
  std::string scheme = "http";  // "http" or "https" (verified like ForwardTo: ca_file or server.upstream.ca_file)
  std::string host;             // IP literal (IPv6 with or without brackets) or name
  std::uint16_t port = 80;
  std::string target = "/";     // path and query
  std::string method = "POST";
  std::vector<Header> headers;  // Host, Content-Length, Connection are the client's own
  std::string body;
  std::string ca_file;
  std::string upstream_name;    // metrics and logs, e.g. "mcp:weather"
  // Time for the final head, and for the whole body when buffered. 0: server.upstream.response_timeout_ms.
  std::chrono::milliseconds timeout{0};
  std::size_t max_body_bytes = 4u << 20;  // buffered: a larger body is error upstream_bad_response

  // Streaming (set both): the head is reported to on_head as soon as it arrives (body empty), then
  // each piece of the body to on_body as it is read (never buffered whole); on_body returning
  // false stops the call (the connection is closed, never pooled). `done` still runs once at the
  // end, with the body empty. idle_timeout bounds the time between two body reads (0: none, for
  // long-lived event streams that the caller cancels).
  std::function<void(const struct UpstreamReply& head)> on_head;
  std::function<bool(std::string_view piece)> on_body;
  std::chrono::milliseconds idle_timeout{0};
};

struct UpstreamReply {
  int status = 0;                // 0 when no final head arrived
  std::string content_type;      // "" when none
  std::vector<Header> headers;   // end-to-end fields
  std::string body;              // buffered mode only
  // "" ok (any HTTP status is ok: the caller judges it), else upstream_unavailable (connect,
  // TLS, refused scheme), upstream_timeout, upstream_bad_response (malformed, too large),
  // upstream_broken (broke off after the head), cancelled.
  std::string error;

  const std::string* header(std::string_view name) const;  // first match, case-insensitive
};

// Cancels a call in flight (done then runs with error "cancelled", unless it ran already).
// Safe from any thread, any number of times.
class UpstreamCallHandle {
 public:
  virtual ~UpstreamCallHandle() = default;
  virtual void cancel() = 0;
};

// Starts `call`. From a server I/O thread (a handler, a stage, another call's callback) it runs
// on that thread's event loop and pool; from any other thread it runs on one of the server's I/O
// threads. `done` runs exactly once, on that I/O thread: keep it short. With no server running,
// done runs at once with error upstream_unavailable.
std::shared_ptr<UpstreamCallHandle> call_upstream(UpstreamCall call, std::function<void(UpstreamReply&&)> done);

}  // namespace pc::net
