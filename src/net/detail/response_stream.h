// Private to src/net: what a ResponseStream shares between its producer (any thread) and the
// connection that sends it (one I/O thread). (issue 10, area "net")
//
// The producer appends to one string under a mutex and, when a connection serves the stream,
// posts at most one wakeup at a time to that connection's event loop; the connection swaps the
// string out and writes it. One string rather than a queue of pieces: the client sees a byte
// stream either way, and an idle stream then costs one empty string, not a container.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>
#include <optional>
#include <string>

#include "net/detail/asio.h"
#include "net/http.h"

namespace pc::net {

struct ResponseStream::State : std::enable_shared_from_this<ResponseStream::State> {
  explicit State(Options o) : opts(o) {}
  const Options opts;

  std::mutex mu;
  // ---- guarded by mu
  std::string pending;         // written, not yet taken by the connection
  std::size_t unsent = 0;      // pending plus what the connection took but has not written yet
  bool close_asked = false;    // close(): end once drained
  bool ended = false;          // no more writes accepted (closed, cut off, client gone)
  bool cut_off = false;        // fell max_queued_bytes behind
  bool finished = false;       // on_closed ran (or runs at once when set)
  bool wake_posted = false;    // a wakeup is on its way to the connection
  std::optional<detail::Executor> ex;  // set while a connection sends the stream
  std::function<void()> on_closed;
  std::vector<std::shared_ptr<const void>> held;  // hold_until_closed

  // ---- the connection's thread only, while it sends the stream
  detail::Timer* wake = nullptr;        // the connection's idle wait; cancelled to wake it
  detail::TcpStream* tcp = nullptr;     // cancelled to abort a write when cut off

  // ResponseStream::close(); also how a drain ends an open stream.
  void close();
  // Wakes the connection (with mu held): posts one handler unless one is on its way.
  void notify_locked();
  // The stream is over for whatever reason: no more writes, the queue dropped, on_closed run
  // (once). Called by the connection, on its thread, without mu held.
  void finish();
};

}  // namespace pc::net
