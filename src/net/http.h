// The narrow HTTP interface between the network layer and everything above it.
// No Boost.Beast or Asio here: handlers, services and tests include this, not the server.
#pragma once

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
  std::string remote_address;  // peer IP
  bool tls = false;
  std::vector<std::pair<std::string, std::string>> params;  // path parameters from the router
  // Matched route pattern, for metrics and logs. Points at the router's own copy or a literal,
  // both of which outlive the request, so it is also a stable identity for per-route caches.
  std::string_view route;

  const std::string* header(std::string_view name) const;  // first match, case-insensitive
  std::string_view param(std::string_view name) const;     // "" when absent
};

// Tells the network layer to forward the request to an upstream and stream the answer back.
struct ForwardTo {
  std::string host;  // IP literal or name
  std::uint16_t port = 80;
  std::string target;                    // path (and query) on the upstream
  std::vector<Header> set_headers;       // added after the inbound headers are copied
  std::optional<std::string> body;       // replaces the inbound body when set
  std::string upstream_name;             // for metrics and logs, e.g. "agent:echo"
  // Called on the connection's thread once the exchange ended, with the status the client saw
  // (499: the client went away). Keep it short: it runs on an I/O thread.
  std::function<void(int status)> on_complete;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<Header> headers;
  std::string body;
  std::optional<ForwardTo> forward;  // set: proxy instead of answering
  // An extra audit event this answer stands for (e.g. "security.tenant_access_violation"),
  // recorded by the API layer's audit trail beside the call itself; never sent.
  std::string audit_action;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response proxy(ForwardTo to);
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
