// A Redis impostor on a raw loopback socket, for the client's tests against a peer that
// misbehaves: each accepted connection runs `script(index, fd)` on its own thread (index counts
// connections from 0). The fds stay open until the peer is destroyed, so a script may go silent.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pc::cluster::testing {

class RawRedisPeer {
 public:
  using Script = std::function<void(int index, int fd, const std::atomic<bool>& stop)>;

  explicit RawRedisPeer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~RawRedisPeer() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return accepted_; }

  // Waits up to `ms` for bytes; "" on silence, close or stop.
  static std::string read_some(int fd, const std::atomic<bool>& stop, int ms = 2000) {
    for (int waited = 0; waited < ms && !stop; waited += 50) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
      }
    }
    return {};
  }
  static bool send_all(int fd, const std::string& bytes) {
    return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // The client's handshake (no password, db 0, no channels): one PING, answered.
  static void handshake(int fd, const std::atomic<bool>& stop) {
    read_some(fd, stop);
    send_all(fd, "+PONG\r\n");
  }
  // A sane server from here on: +PONG for every PING until the client leaves or the peer stops.
  static void answer_pings(int fd, const std::atomic<bool>& stop) {
    while (!stop) {
      const std::string got = read_some(fd, stop, 200);
      if (got.empty()) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) return;  // readable yet nothing read: closed
        continue;
      }
      for (std::size_t at = 0; (at = got.find("PING\r\n", at)) != std::string::npos; at += 6) {
        if (!send_all(fd, "+PONG\r\n")) return;
      }
    }
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      fds_.push_back(fd);
      const int index = accepted_++;
      threads_.emplace_back([this, index, fd] { script_(index, fd, stop_); });
    }
  }

  Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace pc::cluster::testing
