// The HTTP/1.1 server: one event loop per worker thread, each with its own SO_REUSEPORT
// listener, so connections never hop between threads. Keeps Beast and Asio behind a pimpl.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/config.h"
#include "net/router.h"

namespace pc::net {

class Server {
 public:
  Server(const core::Config& config, std::shared_ptr<const Router> router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening sockets without serving them yet (connections wait in the backlog), so a
  // port held by anyone else fails the start before anything else happens. Throws
  // std::runtime_error with one line, "listen 127.0.0.1:8080: address already in use" (or bad
  // TLS files). Idempotent.
  void listen();
  // listen() if not done yet, then starts the worker threads.
  void start();
  // The address actually bound, "127.0.0.1:8080" (the port is real even when 0 was asked for).
  std::string address() const;
  // Live settings (limits, upstream timeouts, access log); listen, threads and TLS need a restart.
  void apply(const core::Config& config);
  // Stops accepting, lets in-flight requests finish until the deadline, then closes whatever is
  // left. The event loops keep running (answers from other threads may still arrive) until stop().
  void drain(std::chrono::milliseconds drain);
  // Stops the event loops and joins their threads; their io_contexts are gone afterwards, so
  // everything that may post to them (work pools, audit callbacks) must be stopped first.
  void stop();
  // drain(), then stop().
  void shutdown(std::chrono::milliseconds drain);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::net
