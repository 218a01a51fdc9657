#include "api/mcp_route.h"

#include <boost/json.hpp>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <variant>

#include "api/mcp_discovery.h"
#include "auth/principal.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/work_pool.h"
#include "crypto/random.h"
#include "mcp/dispatch.h"
#include "mcp/jsonrpc.h"
#include "mcp/sessions.h"

namespace pc::api {
namespace {

// JSON-RPC error codes (SPEC §7).
using mcp::jsonrpc::kInvalidParams;
using mcp::jsonrpc::kInvalidRequest;
using mcp::jsonrpc::kMethodNotFound;
constexpr int kInternal = mcp::jsonrpc::kInternalError;
using mcp::jsonrpc::kForbidden;

constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";

// ---- one JSON-RPC message (area "intercept"'s strict parser: size, depth, duplicate names, UTF-8)
struct Message {
  enum Kind { request, notification, response } kind = request;
  boost::json::object obj;  // the message as the federation gets it (rebuilt: known members only)
  std::string method;
  boost::json::value id;  // null for a notification
};
struct BadMessage {
  int code;
  std::string message;
  boost::json::value id;
};

std::variant<Message, BadMessage> parse_message(std::string_view body) {
  mcp::jsonrpc::ParseResult r = mcp::jsonrpc::parse(body);
  if (!r.ok()) return BadMessage{r.failure.code, r.failure.message, r.failure.id};
  mcp::jsonrpc::Message& in = *r.message;
  Message m;
  m.obj["jsonrpc"] = "2.0";
  switch (in.kind) {
    case mcp::jsonrpc::Kind::request:
    case mcp::jsonrpc::Kind::notification:
      m.kind = in.kind == mcp::jsonrpc::Kind::request ? Message::request : Message::notification;
      m.method = in.method;
      if (m.kind == Message::request) m.obj["id"] = in.id;
      m.obj["method"] = in.method;
      if (in.has_params) m.obj["params"] = std::move(in.params);
      break;
    case mcp::jsonrpc::Kind::response:
      m.kind = Message::response;
      m.obj["id"] = in.id;
      if (in.is_error)
        m.obj["error"] = std::move(in.error);
      else
        m.obj["result"] = std::move(in.result);
      break;
  }
  m.id = std::move(in.id);
  return m;
}

boost::json::object rpc_error(const boost::json::value& id, int code, std::string_view message) {
  return boost::json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

net::Response rpc_answer(int status, const boost::json::object& o) { return net::Response::json(status, core::json_text(o)); }
net::Response rpc_failure(int status, const boost::json::value& id, int code, std::string_view message) {
  return rpc_answer(status, rpc_error(id, code, message));
}

// ---- header checks

// Media types of a header like Accept, lowercased, parameters dropped.
std::vector<std::string> media_types(const std::string* header) {
  std::vector<std::string> out;
  if (!header) return out;
  std::string_view rest = *header;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    std::string t(item);
    for (char& c : t) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

// Whether an Accept header lists `type` ("application/json"), its wildcards counting.
bool accepts(const std::vector<std::string>& types, std::string_view type) {
  const std::string_view major = type.substr(0, type.find('/'));
  for (const auto& t : types) {
    if (t == type || t == "*/*") return true;
    if (t.size() == major.size() + 2 && t.compare(0, major.size(), major) == 0 && t.ends_with("/*")) return true;
  }
  return false;
}

bool is_json_content(const net::Request& req) {
  auto types = media_types(req.header("content-type"));
  return types.size() == 1 && types[0] == "application/json";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// ---- server-sent event streams (node-local; docs/mcp.md "Streams and resumption")

constexpr std::size_t kReplayEvents = 64;         // per stream
constexpr std::size_t kReplayBytes = 256u << 10;  // per stream
constexpr std::size_t kMaxStreams = 4096;         // per node: the oldest are forgotten beyond it
constexpr auto kHeartbeat = std::chrono::seconds(15);

// One SSE stream of a session: a POST's answer stream or the session's GET stream. Every event
// carries the id "<key>.<seq>" (the key names the stream, so a Last-Event-ID finds it) and is kept
// in a bounded replay buffer, so a client that lost the connection resumes with GET + Last-Event-ID
// and gets what it missed, on the stream it was on. The connection carrying it may change (or be
// none while the client is away); events go to whichever carries it now.
class SseStream {
 public:
  SseStream(std::string key, std::string session_id, bool is_get)
      : key_(std::move(key)), session_id_(std::move(session_id)), is_get_(is_get) {}
  const std::string& key() const { return key_; }
  const std::string& session_id() const { return session_id_; }
  bool is_get() const { return is_get_; }

  // Attaches a connection: first the events after `after` (resumption) or a priming event (a new
  // stream), then what comes next; a stream whose last event went out is closed after the replay.
  void attach(const std::shared_ptr<net::ResponseStream>& rs, std::optional<std::uint64_t> after) {
    std::lock_guard lock(mu_);
    live_ = rs;
    if (!after) {
      // The transport's priming event: an id and no data, so the client can resume from here.
      rs->write("id: " + key_ + "." + std::to_string(seq_) + "\ndata: \n\n");
    } else {
      for (const auto& [n, text] : replay_)
        if (n > *after) rs->write(text);
    }
    if (finished_) rs->close();
  }
  // Detaches `rs` if it is still the one carrying the stream (its connection ended).
  void detach(const net::ResponseStream* rs) {
    std::lock_guard lock(mu_);
    if (live_.get() == rs) live_.reset();
  }
  bool live() {
    std::lock_guard lock(mu_);
    return live_ && !live_->closed();
  }
  // One JSON-RPC message as an event; `last`: the stream ends after it (a POST's answer).
  void emit(const boost::json::object& message, bool last = false) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    const std::uint64_t n = ++seq_;
    std::string text = "id: " + key_ + "." + std::to_string(n) + "\nevent: message\ndata: " +
                       core::json_text(message) + "\n\n";
    replay_bytes_ += text.size();
    replay_.emplace_back(n, text);
    while (replay_.size() > kReplayEvents || (replay_bytes_ > kReplayBytes && replay_.size() > 1)) {
      replay_bytes_ -= replay_.front().second.size();
      replay_.pop_front();
    }
    if (live_) live_->write(std::move(text));
    if (last) {
      finished_ = true;
      if (live_) live_->close();
    }
  }

 private:
  const std::string key_;
  const std::string session_id_;
  const bool is_get_;
  std::mutex mu_;
  std::uint64_t seq_ = 0;
  std::deque<std::pair<std::uint64_t, std::string>> replay_;
  std::size_t replay_bytes_ = 0;
  std::shared_ptr<net::ResponseStream> live_;
  bool finished_ = false;
};

// This node's streams by key, and each session's GET stream. Bounded: beyond kMaxStreams the
// oldest are forgotten (a Last-Event-ID naming one then opens a fresh stream).
class StreamRegistry {
 public:
  std::shared_ptr<SseStream> make(const std::string& session_id, bool is_get) {
    auto s = std::make_shared<SseStream>(crypto::random_hex(8), session_id, is_get);
    std::lock_guard lock(mu_);
    by_key_[s->key()] = s;
    order_.push_back(s->key());
    while (order_.size() > kMaxStreams) {
      by_key_.erase(order_.front());
      order_.pop_front();
    }
    return s;
  }
  // The stream a Last-Event-ID names, if this node has it and it is this session's.
  std::pair<std::shared_ptr<SseStream>, std::uint64_t> find(std::string_view last_event_id, const std::string& session) {
    const std::size_t dot = last_event_id.rfind('.');
    if (dot == std::string_view::npos || dot + 1 >= last_event_id.size()) return {};
    std::uint64_t n = 0;
    for (char c : last_event_id.substr(dot + 1)) {
      if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return {};
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    std::lock_guard lock(mu_);
    auto it = by_key_.find(std::string(last_event_id.substr(0, dot)));
    if (it == by_key_.end() || it->second->session_id() != session) return {};
    return {it->second, n};
  }
  // The session's GET stream becomes `s`, unless another is carried by a connection (false).
  bool claim_get(const std::string& session, const std::shared_ptr<SseStream>& s) {
    std::lock_guard lock(mu_);
    auto& slot = get_of_[session];
    if (auto cur = slot.lock(); cur && cur != s && cur->live()) return false;
    if (auto cur = slot.lock(); cur && cur == s && cur->live()) return false;
    slot = s;
    return true;
  }
  void release_get(const std::string& session, const SseStream* s) {
    std::lock_guard lock(mu_);
    auto it = get_of_.find(session);
    if (it != get_of_.end() && it->second.lock().get() == s) get_of_.erase(it);
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<SseStream>> by_key_;
  std::deque<std::string> order_;
  std::unordered_map<std::string, std::weak_ptr<SseStream>> get_of_;
};

net::Response sse_head(std::shared_ptr<net::ResponseStream> rs) {
  auto r = net::Response::streamed(200, "text/event-stream", std::move(rs));
  r.headers.push_back({"Cache-Control", "no-cache"});
  return r;
}

std::shared_ptr<net::ResponseStream> new_response_stream() {
  net::ResponseStream::Options o;
  o.heartbeat = kHeartbeat;
  return std::make_shared<net::ResponseStream>(o);
}

// ---- the POST answer

// Answers one POSTed request once, from whichever thread the federation answers on: plain
// application/json when the answer comes first; a text/event-stream when the federation sends
// messages (progress, logging, server→client requests) before it, the answer as its last event.
class PostOutbox final : public mcp::Outbox {
 public:
  PostOutbox(net::Responder reply, boost::json::value id, std::string session_id, StreamRegistry& streams)
      : reply_(std::move(reply)), id_(std::move(id)), session_id_(std::move(session_id)), streams_(streams) {}
  ~PostOutbox() override {
    // The federation let go without answering: a bug or a lost upstream. Never a hang.
    if (!done_) answer(rpc_error(id_, kInternal, "Internal error: the request was not answered"));
  }
  void send(boost::json::object message) override {
    std::lock_guard lock(mu_);
    if (done_) return;
    if (!stream_) {
      stream_ = streams_.make(session_id_, false);
      auto rs = new_response_stream();
      std::weak_ptr<SseStream> weak = stream_;
      const net::ResponseStream* raw = rs.get();
      rs->on_closed([weak, raw] {
        if (auto s = weak.lock()) s->detach(raw);
      });
      stream_->attach(rs, std::nullopt);
      reply_(sse_head(std::move(rs)));
    }
    stream_->emit(message);
  }
  void answer(boost::json::object message) override {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    // The answer carries the client's id whatever the federation put there.
    message["jsonrpc"] = "2.0";
    message["id"] = id_;
    if (stream_) return stream_->emit(message, /*last=*/true);
    reply_(rpc_answer(200, message));
  }

 private:
  std::mutex mu_;
  bool done_ = false;
  net::Responder reply_;
  boost::json::value id_;
  std::string session_id_;
  StreamRegistry& streams_;
  std::shared_ptr<SseStream> stream_;
};

// The GET stream as the federation sees it: server-initiated messages, never an answer.
class GetOutbox final : public mcp::Outbox {
 public:
  explicit GetOutbox(std::shared_ptr<SseStream> s) : s_(std::move(s)) {}
  void send(boost::json::object message) override { s_->emit(message); }
  void answer(boost::json::object) override {}

 private:
  std::shared_ptr<SseStream> s_;
};

struct Shared {
  McpRouteDeps d;
  StreamRegistry streams;
};

mcp::SessionOwner owner_of(const Caller& c) { return {c->tenant, c->subject, c->client}; }

mcp::McpCaller mcp_caller(const Caller& c, const net::Request& req) {
  return mcp::McpCaller{c.principal, c->tenant, c.tier, req.request_id};
}

net::Response session_refused(mcp::SessionRefusal why, const boost::json::value& id) {
  auto r = rpc_failure(404, id, kInvalidRequest, "Session not found: initialize a new session");
  if (why == mcp::SessionRefusal::foreign_tenant) r.audit_action = "security.tenant_access_violation";
  return r;
}

net::Response overloaded(const boost::json::value& id) {
  auto r = rpc_failure(503, id, kInternal, "The gateway is overloaded; try again");
  r.headers.push_back({"Retry-After", "1"});
  return r;
}

// The checks every message but initialize passes: a session id, a supported version header.
// nullopt: go on. `id` is the JSON-RPC id for error bodies (null for GET and DELETE).
std::optional<net::Response> session_headers_refusal(const net::Request& req, const boost::json::value& id) {
  const std::string* sid = req.header(kSessionHeader);
  if (!sid || sid->empty())
    return rpc_failure(400, id, kInvalidRequest, "Bad request: the Mcp-Session-Id header is required (initialize first)");
  if (const std::string* v = req.header(kVersionHeader); v && !is_supported_mcp_version(*v))
    return rpc_failure(400, id, kInvalidRequest,
                       "Bad request: unsupported MCP-Protocol-Version (supported: 2025-06-18, 2025-11-25)");
  return std::nullopt;
}

// After the session is known: the version header, when sent, must be the negotiated one. An
// absent header means the negotiated version (the transport's rule: a server that knows the
// version from initialization uses it; 2025-03-26 is assumed only by servers that cannot know).
std::optional<net::Response> version_mismatch(const net::Request& req, const mcp::McpSession& s,
                                              const boost::json::value& id) {
  const std::string* v = req.header(kVersionHeader);
  if (v && *v != s.protocol_version)
    return rpc_failure(400, id, kInvalidRequest,
                       "Bad request: MCP-Protocol-Version is not the version negotiated for this session");
  return std::nullopt;
}

void handle_initialize(std::shared_ptr<Shared> sh, std::shared_ptr<net::Request> req, Caller caller,
                       net::Responder reply, Message m) {
  if (req->header(kSessionHeader))
    return reply(rpc_failure(400, m.id, kInvalidRequest,
                             "Invalid request: initialize starts a new session; send it without Mcp-Session-Id"));
  boost::json::object params;
  if (auto* p = m.obj.if_contains("params")) params = p->as_object();
  const boost::json::value* asked = params.if_contains("protocolVersion");
  if (!asked || !asked->is_string())
    return reply(rpc_failure(400, m.id, kInvalidParams, "Invalid params: protocolVersion is required"));
  boost::json::object caps, info;
  if (auto* c = params.if_contains("capabilities")) {
    if (!c->is_object()) return reply(rpc_failure(400, m.id, kInvalidParams, "Invalid params: capabilities must be an object"));
    caps = c->as_object();
  }
  if (auto* i = params.if_contains("clientInfo")) {
    if (!i->is_object()) return reply(rpc_failure(400, m.id, kInvalidParams, "Invalid params: clientInfo must be an object"));
    info = i->as_object();
  }
  // Lifecycle §Version negotiation: the asked version when we support it, else our newest.
  std::string version = is_supported_mcp_version(asked->as_string()) ? std::string(asked->as_string())
                                                                       : std::string(kMcpVersionNewest);
  auto job = [sh, req, caller, reply, id = m.id, version, caps = std::move(caps), info = std::move(info)]() mutable {
    mcp::McpSession s;
    try {
      s = sh->d.sessions->create(owner_of(caller), version, std::move(caps), std::move(info));
    } catch (const std::exception& e) {
      log::error("mcp: session not created", {{"request_id", req->request_id}, {"error", e.what()}});
      return reply(rpc_failure(503, id, kInternal, "The session could not be created; try again"));
    }
    boost::json::object result;
    if (sh->d.federation) {
      try {
        result = sh->d.federation->initialize_result(mcp_caller(caller, *req), s);
      } catch (const std::exception& e) {
        log::error("mcp: initialize failed in the federation", {{"request_id", req->request_id}, {"error", e.what()}});
        return reply(rpc_failure(200, id, kInternal, "Internal error"));
      }
    } else {
      result["capabilities"] = boost::json::object{};
      result["serverInfo"] = {{"name", "portcullis"}, {"version", PORTCULLIS_VERSION}};
    }
    result["protocolVersion"] = s.protocol_version;
    auto r = rpc_answer(200, {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
    r.headers.push_back({std::string(kSessionHeader), s.id});
    reply(std::move(r));
  };
  if (!sh->d.pool->try_submit(std::move(job))) reply(overloaded(m.id));
}

void dispatch(std::shared_ptr<Shared> sh, std::shared_ptr<net::Request> req, Caller caller, net::Responder reply,
              Message m, mcp::McpSession s) {
  if (auto refused = version_mismatch(*req, s, m.id)) return reply(std::move(*refused));
  mcp::Federation* fed = sh->d.federation;
  const mcp::McpCaller who = mcp_caller(caller, *req);
  switch (m.kind) {
    case Message::notification:
      if (fed) fed->notification(who, s, std::move(m.obj));
      return reply(net::Response::text(202, "", ""));
    case Message::response:
      if (fed) fed->client_response(who, s, std::move(m.obj));
      return reply(net::Response::text(202, "", ""));
    case Message::request:
      break;
  }
  if (m.method == "initialize")
    return reply(rpc_failure(400, m.id, kInvalidRequest, "Invalid request: this session is initialized already"));
  // Liveness between the client and the gateway: answered here, whatever the upstreams do.
  if (m.method == "ping")
    return reply(rpc_answer(200, {{"jsonrpc", "2.0"}, {"id", m.id}, {"result", boost::json::object{}}}));
  if (!fed) return reply(rpc_failure(200, m.id, kMethodNotFound, "Method not found"));
  auto out = std::make_shared<PostOutbox>(std::move(reply), m.id, s.id, sh->streams);
  try {
    fed->request(who, s, std::move(m.obj), out);
  } catch (const std::exception& e) {
    log::error("mcp: the federation failed a request", {{"request_id", req->request_id}, {"error", e.what()}});
    out->answer(rpc_error(m.id, kInternal, "Internal error"));
  }
}

// Looks the session up (cache, else the store on the pool) and continues with it.
void with_session(std::shared_ptr<Shared> sh, std::shared_ptr<net::Request> req, Caller caller,
                  net::Responder reply, const boost::json::value& id,
                  std::function<void(net::Responder, mcp::McpSession)> next) {
  const std::string sid = *req->header(kSessionHeader);
  sh->d.sessions->open(
      owner_of(caller), sid,
      [reply, id, next = std::move(next)](mcp::SessionLookup r) mutable {
        if (auto* why = std::get_if<mcp::SessionRefusal>(&r)) return reply(session_refused(*why, id));
        next(std::move(reply), std::move(std::get<mcp::McpSession>(r)));
      },
      [reply, id]() mutable { reply(overloaded(id)); });
}

void handle_post(std::shared_ptr<Shared> sh, std::shared_ptr<net::Request> req, Caller caller, net::Responder reply) {
  const auto accept = media_types(req->header("accept"));
  if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream"))
    return reply(rpc_failure(406, nullptr, kInvalidRequest,
                             "Not acceptable: Accept must list application/json and text/event-stream"));
  if (!is_json_content(*req))
    return reply(rpc_failure(415, nullptr, kInvalidRequest, "Unsupported media type: Content-Type must be application/json"));
  auto parsed = parse_message(req->body);
  if (auto* bad = std::get_if<BadMessage>(&parsed)) return reply(rpc_failure(400, bad->id, bad->code, bad->message));
  Message m = std::move(std::get<Message>(parsed));
  if (m.kind == Message::request && m.method == "initialize")
    return handle_initialize(std::move(sh), std::move(req), std::move(caller), std::move(reply), std::move(m));
  const boost::json::value id = m.id;
  if (auto refused = session_headers_refusal(*req, id)) return reply(std::move(*refused));
  with_session(sh, req, caller, std::move(reply), id,
               [sh, req, caller, m = std::move(m)](net::Responder reply, mcp::McpSession s) mutable {
                 dispatch(sh, req, caller, std::move(reply), std::move(m), std::move(s));
               });
}

// Opens `stream` on a new connection for the client (after `after`, when resuming) and answers.
void open_stream(std::shared_ptr<SseStream> stream, std::optional<std::uint64_t> after,
                 std::function<void()> on_closed, net::Responder& reply) {
  auto rs = new_response_stream();
  std::weak_ptr<SseStream> weak = stream;
  const net::ResponseStream* raw = rs.get();
  rs->on_closed([weak, raw, on_closed = std::move(on_closed)] {
    if (auto x = weak.lock()) x->detach(raw);
    if (on_closed) on_closed();
  });
  stream->attach(rs, after);
  reply(sse_head(std::move(rs)));
}

void handle_get(std::shared_ptr<Shared> sh, std::shared_ptr<net::Request> req, Caller caller, net::Responder reply) {
  if (!accepts(media_types(req->header("accept")), "text/event-stream"))
    return reply(rpc_failure(406, nullptr, kInvalidRequest, "Not acceptable: Accept must list text/event-stream"));
  if (auto refused = session_headers_refusal(*req, nullptr)) return reply(std::move(*refused));
  with_session(sh, req, caller, std::move(reply), nullptr,
               [sh, req, caller](net::Responder reply, mcp::McpSession s) mutable {
                 if (auto refused = version_mismatch(*req, s, nullptr)) return reply(std::move(*refused));
                 // Resumption: the stream the Last-Event-ID names, if this node has it; else
                 // (another node's, or forgotten) a fresh GET stream without replay.
                 std::shared_ptr<SseStream> stream;
                 std::optional<std::uint64_t> after;
                 if (const std::string* last = req->header("last-event-id")) {
                   auto [found, n] = sh->streams.find(*last, s.id);
                   if (found) stream = found, after = n;
                 }
                 // A POST's stream: what was missed, then its answer when it comes.
                 if (stream && !stream->is_get()) return open_stream(stream, after, nullptr, reply);
                 if (!stream) stream = sh->streams.make(s.id, true);
                 if (!sh->streams.claim_get(s.id, stream))
                   return reply(rpc_failure(409, nullptr, kInvalidRequest,
                                            "Conflict: this session's GET stream is open already"));
                 const SseStream* key = stream.get();
                 auto closed = [sh, key, s] {
                   sh->streams.release_get(s.id, key);
                   if (!sh->d.federation) return;
                   try {
                     sh->d.federation->stream_closed(s);
                   } catch (const std::exception& e) {
                     log::warn("mcp: the federation failed on a closed stream", {{"error", e.what()}});
                   }
                 };
                 // The connection first, so nothing the federation sends at once is missed.
                 open_stream(stream, after, std::move(closed), reply);
                 if (!sh->d.federation) return;
                 try {
                   sh->d.federation->stream_opened(mcp_caller(caller, *req), s, std::make_shared<GetOutbox>(stream));
                 } catch (const std::exception& e) {
                   // The stream stays open (and empty): the client is told nothing it could act on.
                   log::error("mcp: the federation failed to open a stream",
                              {{"request_id", req->request_id}, {"error", e.what()}});
                 }
               });
}

void handle_delete(std::shared_ptr<Shared> sh, std::shared_ptr<net::Request> req, Caller caller, net::Responder reply) {
  if (auto refused = session_headers_refusal(*req, nullptr)) return reply(std::move(*refused));
  auto job = [sh, req, caller, reply]() mutable {
    mcp::SessionLookup r = mcp::SessionRefusal::not_found;
    try {
      r = sh->d.sessions->end(owner_of(caller), *req->header(kSessionHeader));
    } catch (const std::exception& e) {
      log::error("mcp: session not ended", {{"request_id", req->request_id}, {"error", e.what()}});
      return reply(rpc_failure(503, nullptr, kInternal, "The session could not be ended; try again"));
    }
    if (auto* why = std::get_if<mcp::SessionRefusal>(&r)) return reply(session_refused(*why, nullptr));
    const auto& s = std::get<mcp::McpSession>(r);
    if (sh->d.federation) {
      try {
        sh->d.federation->session_ended(s);
      } catch (const std::exception& e) {
        // Best effort: the session is gone for the client whatever the upstreams do.
        log::warn("mcp: the federation failed to end upstream sessions", {{"request_id", req->request_id}, {"error", e.what()}});
      }
    }
    reply(net::Response::text(204, "", ""));
  };
  if (!sh->d.pool->try_submit(std::move(job))) reply(overloaded(nullptr));
}

// DNS-rebinding protection runs before authentication: a page of a foreign origin learns
// nothing, not even whether its token would have been accepted.
net::Handler origin_checked(std::shared_ptr<Shared> sh, net::Handler inner) {
  return [sh, inner = std::move(inner)](std::shared_ptr<net::Request> req, net::Responder reply) {
    if (const std::string* origin = req->header("origin"); origin && !mcp_origin_allowed(*origin, sh->d.base_url())) {
      auto r = rpc_failure(403, nullptr, kForbidden, "Forbidden: this Origin may not use the MCP endpoint");
      return reply(std::move(r));
    }
    inner(std::move(req), std::move(reply));
  };
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

}  // namespace

bool is_supported_mcp_version(std::string_view v) { return v == kMcpVersionOldest || v == kMcpVersionNewest; }

bool mcp_origin_allowed(std::string_view origin, std::string_view base_url) {
  const std::string o = lower(origin);
  std::string base = lower(base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!base.empty() && o == base) return true;
  std::string_view rest = o;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  else if (rest.starts_with("https://")) rest.remove_prefix(8);
  else return false;  // "null", other schemes
  if (rest.find('/') != std::string_view::npos || rest.find('@') != std::string_view::npos) return false;
  std::string_view host = rest;
  if (host.starts_with("[")) {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    host = host.substr(0, close + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return is_loopback_host(host);
}

void add_mcp_routes(net::Router& router, McpRouteDeps deps) {
  auto sh = std::make_shared<Shared>();
  sh->d = std::move(deps);
  const Policy policy = Policy::tenant_only({auth::roles::kAgentInvoke, auth::roles::kMachineInvoke,
                                             auth::roles::kAgentDeveloper});
  auto challenge_url = [sh] { return sh->d.base_url() + kMcpResourceMetadataPath; };
  auto route = [&](auto fn) {
    return origin_checked(sh, with_resource_metadata(sh->d.chain->route(policy,
                                                                       [sh, fn](std::shared_ptr<net::Request> req,
                                                                                Caller caller, net::Responder reply) {
                                                                         fn(sh, std::move(req), std::move(caller),
                                                                            std::move(reply));
                                                                       }),
                                                     challenge_url));
  };
  router.add("POST", "/mcp", route(handle_post));
  router.add("GET", "/mcp", route(handle_get));
  router.add("DELETE", "/mcp", route(handle_delete));
}

}  // namespace pc::api
