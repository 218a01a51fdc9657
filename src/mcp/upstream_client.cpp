#include "mcp/upstream_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <atomic>
#include <system_error>

#include "mcp/deadline_timer.h"
#include "mcp/upstream_answer.h"

namespace pc::mcp {

namespace json = boost::json;

const std::string* reply_header(const net::UpstreamReply& reply, std::string_view name) {
  for (const auto& h : reply.headers)
    if (net::iequals(h.name, name)) return &h.value;
  return nullptr;
}

std::string encode_upstream_session(const UpstreamSession& s) {
  json::object o;
  o["sid"] = s.session_id;
  o["v"] = s.protocol_version;
  o["caps"] = s.capabilities;
  return json::serialize(o);
}

std::optional<UpstreamSession> decode_upstream_session(std::string_view text) {
  std::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto* sid = o.if_contains("sid");
  auto* ver = o.if_contains("v");
  auto* caps = o.if_contains("caps");
  if (!sid || !sid->is_string() || !ver || !ver->is_string() || ver->get_string().empty()) return std::nullopt;
  UpstreamSession s;
  s.session_id = std::string(sid->get_string());
  s.protocol_version = std::string(ver->get_string());
  if (caps && caps->is_object()) s.capabilities = caps->get_object();
  return s;
}

net::UpstreamCall UpstreamClient::base_call(const UpstreamTarget& target, const UpstreamSession* session) const {
  net::UpstreamCall call;
  call.scheme = target.server.scheme.empty() ? "http" : target.server.scheme;
  call.host = target.server.host;
  call.port = target.server.port;
  call.target = target.server.path.empty() ? "/" : target.server.path;
  call.ca_file = target.ca_file;
  call.upstream_name = "mcp:" + target.server.name;
  call.timeout = target.timeout;
  call.max_body_bytes = target.max_bytes;
  call.headers = target.auth_headers;
  if (session) {
    if (!session->session_id.empty()) call.headers.push_back({"Mcp-Session-Id", session->session_id});
    if (!session->protocol_version.empty())
      call.headers.push_back({"MCP-Protocol-Version", session->protocol_version});
  }
  return call;
}

namespace {

// The error of a head that is not a usable answer, or "".
std::string head_problem(int status, bool had_session) {
  if (status >= 200 && status < 300) return "";
  if (status == 404 && had_session) return "session_expired";
  if (status == 401 || status == 403) return "unauthorized";
  return "http_" + std::to_string(status);
}

struct RequestState {
  explicit RequestState(json::value id, std::size_t max, MessageSink sink) : reader(std::move(id), max, std::move(sink)) {}
  AnswerReader reader;
  std::string head_error;
  std::function<void(UpstreamResult)> done;
  std::function<void(const std::string&)> on_session_id;
  std::atomic<bool> deadline_passed{false};
  std::atomic<bool> finished{false};
  std::atomic<DeadlineTimer::Id> timer{0};
};

}  // namespace

std::shared_ptr<net::UpstreamCallHandle> UpstreamClient::request(const UpstreamTarget& target,
                                                                 const UpstreamSession& session,
                                                                 json::object message, MessageSink on_message,
                                                                 std::function<void(UpstreamResult)> done) const {
  json::value id = message.contains("id") ? message.at("id") : json::value(nullptr);
  auto st = std::make_shared<RequestState>(std::move(id), target.max_bytes, std::move(on_message));
  st->done = std::move(done);
  bool had_session = !session.session_id.empty();
  auto call = base_call(target, &session);
  call.headers.push_back({"Content-Type", "application/json"});
  call.headers.push_back({"Accept", "application/json, text/event-stream"});
  call.body = json::serialize(message);
  // Streaming, so that progress and server→client requests reach the client while the call runs
  // (a sampling request must be answered before the upstream can finish). Between two reads the
  // call may idle at most its timeout.
  call.idle_timeout = target.timeout;
  call.on_head = [st, had_session](const net::UpstreamReply& head) {
    st->head_error = head_problem(head.status, had_session);
    if (st->head_error.empty()) st->reader.start(head.content_type);
  };
  call.on_body = [st](std::string_view piece) {
    if (!st->head_error.empty()) return false;
    return st->reader.feed(piece);
  };
  auto handle = net::call_upstream(std::move(call), [st](net::UpstreamReply&& reply) {
    st->finished = true;
    if (auto id = st->timer.exchange(0)) DeadlineTimer::instance().cancel(id);
    UpstreamResult r;
    if (st->reader.response()) {
      r.response = st->reader.take_response();  // found before the end: whatever ended the call
    } else if (st->deadline_passed) {
      r.error = "upstream_timeout";
    } else if (!st->head_error.empty()) {
      r.error = st->head_error;
    } else if (!reply.error.empty()) {
      r.error = reply.error;
    } else {
      st->reader.finish();
      if (st->reader.response())
        r.response = st->reader.take_response();
      else
        r.error = st->reader.error().empty() ? "no_response" : st->reader.error();
    }
    if (st->done) st->done(std::move(r));
  });
  if (target.deadline.count() > 0 && handle) {
    // The timer holds the handle (the caller may drop its own); done cancels the timer.
    auto id = DeadlineTimer::instance().schedule(target.deadline, [st, handle] {
      st->deadline_passed = true;
      handle->cancel();
    });
    st->timer = id;
    if (st->finished) DeadlineTimer::instance().cancel(id);  // done ran meanwhile
  }
  return handle;
}

void UpstreamClient::initialize(const UpstreamTarget& target, const std::string& protocol_version,
                                json::object client_capabilities,
                                std::function<void(std::optional<UpstreamSession>, std::string)> done) const {
  json::object msg;
  msg["jsonrpc"] = "2.0";
  msg["id"] = "pc-init";
  msg["method"] = "initialize";
  json::object params;
  params["protocolVersion"] = protocol_version.empty() ? options_.protocol_version : protocol_version;
  params["capabilities"] = std::move(client_capabilities);
  params["clientInfo"] = json::object{{"name", options_.client_name}, {"version", options_.client_version}};
  msg["params"] = std::move(params);

  // The session id comes in the head: read it there (request() only hands on the body).
  auto sid = std::make_shared<std::string>();
  auto st = std::make_shared<RequestState>(json::value("pc-init"), target.max_bytes, nullptr);
  auto call = base_call(target, nullptr);
  call.headers.push_back({"Content-Type", "application/json"});
  call.headers.push_back({"Accept", "application/json, text/event-stream"});
  call.body = json::serialize(msg);
  call.idle_timeout = target.timeout;
  call.on_head = [st, sid](const net::UpstreamReply& head) {
    st->head_error = head_problem(head.status, false);
    if (const auto* h = reply_header(head, "mcp-session-id")) *sid = *h;
    if (st->head_error.empty()) st->reader.start(head.content_type);
  };
  call.on_body = [st](std::string_view piece) {
    if (!st->head_error.empty()) return false;
    return st->reader.feed(piece);
  };
  auto self = *this;  // Options only: cheap, and the continuation may outlive the caller's object
  net::call_upstream(std::move(call), [st, sid, target, self, done = std::move(done)](net::UpstreamReply&& reply) {
    if (sid->empty())
      if (const auto* h = reply_header(reply, "mcp-session-id")) *sid = *h;
    if (!st->reader.response()) {
      if (st->head_error.empty() && reply.error.empty()) st->reader.finish();
    }
    if (!st->reader.response())
      return done(std::nullopt, !st->head_error.empty() ? st->head_error
                                : !reply.error.empty()  ? reply.error
                                                        : (st->reader.error().empty() ? "no_response" : st->reader.error()));
    auto resp = st->reader.take_response();
    auto* result = resp->if_contains("result");
    if (!result || !result->is_object()) return done(std::nullopt, "initialize_refused");
    const auto& res = result->get_object();
    auto* ver = res.if_contains("protocolVersion");
    if (!ver || !ver->is_string() || ver->get_string().empty()) return done(std::nullopt, "initialize_refused");
    UpstreamSession s;
    s.session_id = *sid;
    s.protocol_version = std::string(ver->get_string());
    if (auto* caps = res.if_contains("capabilities"); caps && caps->is_object()) s.capabilities = caps->get_object();
    json::object note{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
    self.notify(target, s, std::move(note), [s, done](bool ok) {
      if (!ok) return done(std::nullopt, "initialized_refused");
      done(s, "");
    });
  });
}

void UpstreamClient::notify(const UpstreamTarget& target, const UpstreamSession& session, json::object message,
                            std::function<void(bool)> done) const {
  auto call = base_call(target, &session);
  call.headers.push_back({"Content-Type", "application/json"});
  call.headers.push_back({"Accept", "application/json, text/event-stream"});
  call.body = json::serialize(message);
  call.max_body_bytes = 64 * 1024;
  net::call_upstream(std::move(call), [done = std::move(done)](net::UpstreamReply&& reply) {
    if (done) done(reply.error.empty() && reply.status >= 200 && reply.status < 300);
  });
}

void UpstreamClient::end(const UpstreamTarget& target, const UpstreamSession& session) const {
  if (session.session_id.empty()) return;  // nothing to end
  auto call = base_call(target, &session);
  call.method = "DELETE";
  call.max_body_bytes = 64 * 1024;
  net::call_upstream(std::move(call), [](net::UpstreamReply&&) {});  // best effort (405 allowed)
}

std::shared_ptr<net::UpstreamCallHandle> UpstreamClient::listen(const UpstreamTarget& target,
                                                                const UpstreamSession& session,
                                                                MessageSink on_message,
                                                                std::function<void()> on_end) const {
  struct ListenState {
    SseParser parser;
    bool ok = false;
    MessageSink sink;
  };
  auto st = std::make_shared<ListenState>();
  st->parser = SseParser(target.max_bytes);
  st->sink = std::move(on_message);
  auto call = base_call(target, &session);
  call.method = "GET";
  call.headers.push_back({"Accept", "text/event-stream"});
  call.idle_timeout = std::chrono::milliseconds(0);  // long-lived: cancelled by the federation
  call.on_head = [st](const net::UpstreamReply& head) {
    // 405: the server offers no GET stream (allowed by the transport).
    st->ok = head.status >= 200 && head.status < 300 && media_type(head.content_type) == "text/event-stream";
  };
  call.on_body = [st](std::string_view piece) {
    if (!st->ok) return false;
    return st->parser.feed(piece, [&](SseEvent&& ev) {
      if ((!ev.event.empty() && ev.event != "message") || ev.data.empty()) return;
      std::error_code ec;
      auto v = json::parse(ev.data, ec);
      if (ec || !v.is_object() || classify(v.as_object()) == MessageKind::invalid) return;
      st->sink(std::move(v.as_object()));
    });
  };
  return net::call_upstream(std::move(call), [on_end = std::move(on_end)](net::UpstreamReply&&) {
    if (on_end) on_end();
  });
}

}  // namespace pc::mcp
