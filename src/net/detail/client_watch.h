// Private to src/net: watches a client socket for the client hanging up while the connection is
// busy elsewhere (waiting on an upstream, or on a ResponseStream's producer).
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "net/detail/asio.h"

namespace pc::net::detail {

// A plain callback on the socket's read readiness, not a second coroutine raced against the
// exchange: that (an awaitable `||`) cost two coroutine spawns and a parallel group per request.
// Readiness alone proves nothing (the reactor may wake a wait spuriously), so it peeks: 0 bytes
// is an orderly close, an error is a reset, data means a pipelined request from a live client
// (then it stops watching), EAGAIN means wait again.
struct ClientWatch : std::enable_shared_from_this<ClientWatch> {
  explicit ClientWatch(Socket& s) : socket(s) {}
  Socket& socket;
  TcpStream* upstream = nullptr;  // the upstream connection in use, cancelled when the client goes
  Timer* wake = nullptr;          // a wait to cut short when the client goes (a streamed response)
  bool gone = false;
  bool finished = false;  // the exchange is over: nothing to cancel any more

  void arm() {
    socket.async_wait(Socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->finished || ec) return;
      char byte;
      const ssize_t n = ::recv(self->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;  // a pipelined request: the client is alive
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->arm();
      self->gone = true;
      if (self->upstream) self->upstream->cancel();
      if (self->wake) self->wake->cancel();
    });
  }
  void finish() {
    finished = true;
    upstream = nullptr;
    wake = nullptr;
    beast::error_code ignored;
    socket.cancel(ignored);  // completes the pending wait (no system call)
  }
};

}  // namespace pc::net::detail
