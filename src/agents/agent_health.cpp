#include "agents/agent_health.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/thread_priority.h"
#include "core/log.h"
#include "core/metrics.h"
#include "net/http_client.h"

namespace pc::agents {
namespace {

core::Gauge& unavailable_gauge() {
  static core::Gauge& g =
      core::metrics()
          .gauge("portcullis_agents_unavailable", "Promoted agents whose runtime fails its health check (GET /ping).")
          .get();
  return g;
}

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on `fd` until the deadline; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return (p.revents & (events | POLLHUP)) != 0;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// One address: connect, send the request, read the status line. Non-blocking throughout, so the
// deadline bounds every step.
bool ping_address(const addrinfo& ai, const std::string& request, Clock::time_point deadline) {
  const int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) return false;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS || !wait_for(fd, POLLOUT, deadline)) return false;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return false;
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  std::string head;
  char buf[256];
  while (head.find("\r\n") == std::string::npos && head.size() < 1024) {
    if (!wait_for(fd, POLLIN, deadline)) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0)
      head.append(buf, static_cast<std::size_t>(n));
    else if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    else
      break;  // closed
  }
  // "HTTP/1.1 200 OK": the three digits after the first space.
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12 || head[8] != ' ') return false;
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    if (head[static_cast<std::size_t>(i)] < '0' || head[static_cast<std::size_t>(i)] > '9') return false;
    status = status * 10 + (head[static_cast<std::size_t>(i)] - '0');
  }
  return status >= 100 && status < 500;
}

}  // namespace

bool AgentHealth::ping(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found) return false;
  const bool v6 = host.find(':') != std::string::npos;
  const std::string request = "GET /ping HTTP/1.1\r\nHost: " + (v6 ? "[" + host + "]" : host) + ":" +
                              std::to_string(port) + "\r\nUser-Agent: portcullis-health\r\nConnection: close\r\n\r\n";
  bool ok = false;
  for (const addrinfo* ai = found; ai && !ok && Clock::now() < deadline; ai = ai->ai_next)
    ok = ping_address(*ai, request, deadline);
  ::freeaddrinfo(found);
  return ok;
}

bool AgentHealth::ping_https(const std::string& host, std::uint16_t port, const std::string& ca_file,
                             std::chrono::milliseconds timeout) {
  net::FetchOptions o;
  o.timeout = timeout;
  o.ca_file = ca_file;
  o.max_body_bytes = 64 << 10;  // the status is what counts; a larger /ping body fails the fetch
  o.headers = {{"User-Agent", "portcullis-health"}};
  const bool v6 = host.find(':') != std::string::npos;
  try {
    const auto r = net::fetch("https://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/ping", o);
    return r.status >= 100 && r.status < 500;
  } catch (const net::FetchError& e) {
    log::debug("agent health: https ping failed", {{"host", host}, {"port", port}, {"error", e.what()}});
    return false;
  }
}

AgentHealth::AgentHealth(const AgentCatalog& catalog, Options options)
    : AgentHealth(catalog, options, [ca_file = options.ca_file](const AgentEntry& a, std::chrono::milliseconds t) {
        return a.scheme == "https" ? ping_https(a.host, a.port, ca_file, t) : ping(a.host, a.port, t);
      }) {}

AgentHealth::AgentHealth(const AgentCatalog& catalog, Options options, Probe probe)
    : catalog_(catalog), options_(options), probe_(std::move(probe)) {
  unavailable_gauge();  // registered from the start, so dashboards see 0 rather than nothing
}

AgentHealth::~AgentHealth() { stop(); }

void AgentHealth::start() {
  std::lock_guard lock(run_mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] {
    // Pings are deferrable: below the I/O threads, whose core it may share (core/thread_priority.h).
    core::name_this_thread("agent-health");
    core::lower_this_thread_priority(core::kMaintenanceNice);
    run();
  });
}

void AgentHealth::stop() {
  {
    std::lock_guard lock(run_mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void AgentHealth::run() {
  for (;;) {
    try {
      check_now();
    } catch (const std::exception& e) {
      log::error("agent health check failed", {{"error", e.what()}});
    }
    std::unique_lock lock(run_mu_);
    if (cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) return;
  }
}

std::chrono::milliseconds AgentHealth::ping_timeout() const {
  if (options_.timeout.count() > 0) return options_.timeout;
  return std::min<std::chrono::milliseconds>(options_.interval, std::chrono::seconds(2));
}

void AgentHealth::check_now() {
  const std::vector<AgentEntry> agents = catalog_.all();
  std::vector<char> up(agents.size(), 0);
  // Pings run a few at a time, so that one slow runtime does not delay everyone's check.
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < agents.size(); i = next++) up[i] = probe_(agents[i], ping_timeout()) ? 1 : 0;
  };
  const unsigned n = std::min<std::size_t>(std::max(1u, options_.parallel), agents.size());
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i)
    threads.emplace_back([&worker] {
      core::lower_this_thread_priority(core::kMaintenanceNice);
      worker();
    });
  worker();
  for (auto& t : threads) t.join();

  int down = 0;
  std::lock_guard lock(mu_);
  std::map<std::string, State, std::less<>> next_states;
  for (std::size_t i = 0; i < agents.size(); ++i) {
    const AgentEntry& a = agents[i];
    State s;
    if (auto it = states_.find(a.name); it != states_.end() && it->second.scheme == a.scheme &&
        it->second.host == a.host && it->second.port == a.port)
      s = it->second;  // same endpoint: carry the failure count on
    s.scheme = a.scheme;
    s.host = a.host;
    s.port = a.port;
    s.checked = true;
    if (up[i]) {
      if (s.down) log::info("agent runtime is available again", {{"agent", a.name}, {"version", a.version}});
      s.failures = 0;
      s.down = false;
    } else if (++s.failures >= std::max(1, options_.failures_to_mark_down) && !s.down) {
      s.down = true;
      log::warn("agent runtime is unavailable (GET /ping failed)",
                {{"agent", a.name}, {"version", a.version}, {"failures", s.failures}});
    }
    if (s.down) ++down;
    next_states.emplace(a.name, std::move(s));
  }
  states_ = std::move(next_states);  // agents no longer in the catalog are forgotten
  unavailable_gauge().set(down);
}

std::string_view AgentHealth::status(const AgentEntry& agent) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(agent.name);
  if (it == states_.end() || !it->second.checked || it->second.scheme != agent.scheme ||
      it->second.host != agent.host || it->second.port != agent.port)
    return kUnknown;
  if (it->second.down) return kUnavailable;
  // Failed fewer times than needed to mark it down, or never failed: available.
  return kAvailable;
}

std::string_view AgentHealth::status(std::string_view name) const {
  // Looked up, not copied: every invocation asks this (503 agent_unavailable).
  auto a = catalog_.find(name);
  return a ? status(*a) : kUnknown;
}

int AgentHealth::retry_after_seconds() const {
  const auto ms = options_.interval.count();
  return static_cast<int>(std::max<long long>(1, (ms + 999) / 1000));
}

}  // namespace pc::agents
