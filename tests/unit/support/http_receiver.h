// A tiny HTTP receiver on 127.0.0.1 for tests of outgoing deliveries (webhooks, A2A pushes):
// a POSIX socket server that records each request (head and body) and answers with the next of
// a list of statuses (200 once they run out). One request per connection.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pc::testing {

struct Received {
  std::string head;  // request line and headers
  std::string body;
  std::string header(std::string_view name) const {
    std::string lower_head;
    for (char c : head) lower_head += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string key = "\r\n";
    for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    key += ": ";
    auto at = lower_head.find(key);
    if (at == std::string::npos) return "";
    auto start = at + key.size();
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// Answers each request with the next status of `statuses` (200 once they run out).
class Receiver {
 public:
  explicit Receiver(std::deque<int> statuses = {}) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url(std::string host = "127.0.0.1") const { return "http://" + host + ":" + std::to_string(port_) + "/hook"; }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string data;
      char buf[4096];
      std::size_t need = std::string::npos;
      Received r;
      for (;;) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        auto end = data.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        if (need == std::string::npos) {
          r.head = data.substr(0, end);
          need = end + 4 + std::stoul(r.header("content-length").empty() ? "0" : r.header("content-length"));
        }
        if (data.size() >= need) break;
      }
      r.body = data.size() >= need && need != std::string::npos ? data.substr(data.find("\r\n\r\n") + 4) : "";
      int status = 200;
      {
        std::lock_guard lock(mu_);
        received_.push_back(r);
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
      }
      std::string reply = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::deque<int> statuses_;
  std::vector<Received> received_;
};

}  // namespace pc::testing
