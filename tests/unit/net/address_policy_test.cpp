// The SSRF address rule (net/address_policy.h) and fetch()'s connect-time use of it
// (FetchOptions::address_allowed): a refused address is never connected to, whether it was
// written in the URL or came out of DNS.
#include "net/address_policy.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"

namespace pc::net {
namespace {

TEST(AddressPolicy, RefusesEverySpecialRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.1", "loopback"},        {"127.255.1.2", "loopback"},     {"::1", "loopback"},
      {"0.0.0.0", "unspecified"},       {"::", "unspecified"},           {"0.1.2.3", "reserved"},
      {"10.0.0.1", "private"},          {"172.16.0.1", "private"},       {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},       {"fd00::1", "private"},          {"fc12::1", "private"},
      {"169.254.169.254", "link-local"}, {"fe80::1", "link-local"},      {"100.64.0.1", "shared address space"},
      {"100.127.255.254", "shared address space"}, {"224.0.0.1", "multicast"}, {"239.1.1.1", "multicast"},
      {"ff02::1", "multicast"},         {"255.255.255.255", "broadcast"}, {"240.0.0.1", "reserved"},
      {"192.0.2.1", "reserved"},        {"198.18.0.1", "reserved"},      {"2001:db8::1", "reserved"},
      // IPv4 carried in IPv6 is judged as the IPv4 address it names.
      {"::ffff:127.0.0.1", "loopback"}, {"::ffff:169.254.169.254", "link-local"}, {"::ffff:10.1.2.3", "private"},
      {"::127.0.0.1", "loopback"},      {"64:ff9b::a9fe:a9fe", "link-local"}, {"2002:7f00:1::1", "loopback"},
      {"not-an-ip", "not an IP address"}, {"", "not an IP address"}, {"fe80::1%eth0", "not an IP address"},
  };
  for (const auto& [ip, why] : cases) {
    auto got = special_address(ip);
    ASSERT_TRUE(got.has_value()) << ip;
    EXPECT_EQ(*got, why) << ip;
  }
}

TEST(AddressPolicy, PassesPublicAddresses) {
  for (std::string ip : {"1.1.1.1", "8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1", "169.255.0.1",
                         "2606:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808"})
    EXPECT_FALSE(special_address(ip).has_value()) << ip;
}

// A listener on 127.0.0.1 that counts connections (answers each with 200 and closes).
class CountingServer {
 public:
  CountingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        ++accepted_;
        char buf[4096];
        (void)::recv(c, buf, sizeof buf, 0);
        const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)::send(c, reply, sizeof reply - 1, MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~CountingServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::string fetch_error(const std::string& url, const FetchOptions& o) {
  try {
    fetch(url, o);
  } catch (const FetchError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(FetchAddressPolicy, ARefusedLiteralOrResolvedAddressIsNeverConnectedTo) {
  CountingServer server;
  FetchOptions o;
  o.timeout = std::chrono::milliseconds(2000);
  std::vector<std::string> seen;
  o.address_allowed = [&seen](std::string_view a) {
    seen.emplace_back(a);
    return false;
  };
  const std::string port = std::to_string(server.port());
  EXPECT_NE(fetch_error("http://127.0.0.1:" + port + "/", o).find("the address 127.0.0.1 is not allowed"),
            std::string::npos);
  // A name is judged by what it resolves to, at connect time.
  EXPECT_NE(fetch_error("http://localhost:" + port + "/", o).find("is not allowed"), std::string::npos);
  EXPECT_EQ(server.accepted(), 0);
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[0], "127.0.0.1");

  // Allowed: the same call goes through.
  o.address_allowed = [](std::string_view) { return true; };
  EXPECT_EQ(fetch("http://127.0.0.1:" + port + "/", o).status, 200);
  EXPECT_EQ(server.accepted(), 1);
}

TEST(FetchAddressPolicy, PlainHttpFollowsTheTwoSwitches) {
  CountingServer server;
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  FetchOptions o;
  o.timeout = std::chrono::milliseconds(2000);
  o.allow_http_loopback = false;
  EXPECT_NE(fetch_error(url, o).find("plain http is not allowed"), std::string::npos);
  o.allow_http_any = true;  // http to any address the policy allows
  EXPECT_EQ(fetch(url, o).status, 200);
}

}  // namespace
}  // namespace pc::net
