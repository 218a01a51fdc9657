// Private to src/net: state shared by the listener, the connections and the proxy.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/config.h"
#include "core/metrics.h"
#include "net/detail/asio.h"
#include "net/edge_guard.h"
#include "net/router.h"

namespace pc::net::detail {

// Settings that a reload may change while connections are open. Each request reads one
// snapshot, so a request never sees half of an old and half of a new configuration.
struct Settings {
  core::LimitsConfig limits;
  core::UpstreamConfig upstream;
  bool access_log = true;
  std::shared_ptr<const pc::net::EdgeRules> edge;  // edge (issue 12): never null
};

struct Metrics {
  core::CounterFamily& requests;           // route, method, status
  core::HistogramFamily& duration;         // route
  core::Gauge& open;                       // connections
  core::CounterFamily& rejected;           // reason
  core::CounterFamily& upstream_requests;  // upstream, outcome
  core::CounterFamily& upstream_errors;    // upstream, kind
  core::HistogramFamily& upstream_duration;
  static Metrics& get();
};

// One pooled keep-alive connection to an upstream: plain TCP, or TLS over TCP for https.
struct UpstreamConn {
  explicit UpstreamConn(Executor ex) : plain(std::in_place, ex) {}
  UpstreamConn(Executor ex, asio::ssl::context& ctx) : tls(std::in_place, TcpStream(ex), ctx) {}
  std::optional<TcpStream> plain;
  std::optional<TlsStream> tls;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;
  TcpStream& tcp() { return tls ? tls->next_layer() : *plain; }
};

// Idle upstream connections of one worker thread, by pool key: "host:port" for http,
// "https://host:port <ca_file>" for https, so a TLS connection is never handed to a plain-http
// forward (or to one that trusts other anchors), nor the reverse. Never shared between threads,
// so no locking.
class UpstreamPool {
 public:
  std::unique_ptr<UpstreamConn> take(const std::string& key, std::chrono::milliseconds max_idle);
  void give(const std::string& key, std::unique_ptr<UpstreamConn> conn, std::size_t max_per_host);
  void clear() { idle_.clear(); }

 private:
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConn>>> idle_;
};

// A live client connection as the worker sees it, so a drain can close the idle ones.
struct ConnTrack {
  TcpStream* tcp = nullptr;
  bool idle = true;
  // the streamed response being sent, which a drain closes (ended cleanly,
  // then the connection closes) so an open stream never holds up a shutdown.
  pc::net::ResponseStream::State* stream = nullptr;
};

struct Shared;

// Member order is destruction order in reverse: the io_context dies before `connections` and
// `pool`, because destroying it destroys suspended connection coroutines, which unregister
// themselves from `connections`.
struct Worker {
  Shared* shared = nullptr;
  std::unordered_set<ConnTrack*> connections;
  UpstreamPool pool;
  asio::io_context ioc{1};
  std::optional<Acceptor> acceptor;
  std::thread thread;
  ~Worker() { pool.clear(); }  // pooled sockets must go while their io_context lives
};

struct Shared {
  std::shared_ptr<const Router> router;
  std::atomic<std::shared_ptr<const Settings>> settings;
  std::optional<asio::ssl::context> tls;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<pc::net::EdgeGuard> edge;  // edge (issue 12): per-address tables, kept across reloads
};

// upstream_call.cpp: the worker whose thread this is (nullptr on other threads), and the running
// server that calls from other threads are posted to (Server::start registers, Server::stop
// unregisters before its loops stop).
extern thread_local Worker* t_current_worker;
void register_running(Shared* shared);
void unregister_running(Shared* shared);

// connection.cpp: serves one accepted client connection until it closes.
Task<> serve_plain(Worker& w, Socket socket, std::string remote);
Task<> serve_tls(Worker& w, Socket socket, std::string remote);

// proxy.cpp: forwards one request and relays the answer to the client. Writes the whole
// response (or an error response) itself.
struct ProxyResult {
  int status = 0;            // what the client was sent (0: nothing, connection aborted)
  bool keep_alive = false;   // the client connection may serve another request
};
template <typename Stream>
Task<ProxyResult> proxy(Worker& w, Stream& client, const struct pc::net::Request& req,
                        const struct pc::net::ForwardTo& to, bool client_keep_alive,
                        const Settings& settings);

// Writes a complete buffered response; false when the client is gone.
template <typename Stream>
Task<bool> write_response(Stream& s, const pc::net::Request& req, pc::net::Response& res,
                          bool keep_alive, std::chrono::milliseconds timeout);

// The status line and fields of a response (Content-Type, X-Request-Id, the handler's headers,
// Connection), without the body's framing field and the blank line that ends the head.
std::string response_head(const pc::net::Request& req, const pc::net::Response& res, bool keep_alive);

// response_stream.cpp: sends a Response whose `stream` is set (the head, then what the producer
// writes, until it closes, the client goes, or it is cut off). True when the connection may
// serve another request. A response that breaks the contract (a body or a forward beside the
// stream) is answered 500 and its stream ended. `draining`: the stream is ended at once.
template <typename Stream>
Task<bool> send_stream(Stream& s, const pc::net::Request& req, pc::net::Response& res, bool keep_alive,
                       const Settings& settings, ConnTrack& track, bool draining);

}  // namespace pc::net::detail
