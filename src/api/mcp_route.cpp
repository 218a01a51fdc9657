#include "api/mcp_route.h"

#include <boost/json.hpp>
#include <mutex>
#include <optional>
#include <variant>

#include "api/mcp_discovery.h"
#include "auth/principal.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/work_pool.h"
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

// ---- the POST answer (JSON until the network layer's streams are wired)

// Answers one POSTed request once, from whichever thread the federation answers on. Messages the
// federation sends before the answer are dropped while the answer is plain JSON (the client
// asked nothing it would miss: progress and logging are advisory); a server→client request sent
// here is dropped too, logged, since it needs a stream (see docs/mcp.md).
class PostOutbox final : public mcp::Outbox {
 public:
  PostOutbox(net::Responder reply, boost::json::value id, std::string request_id)
      : reply_(std::move(reply)), id_(std::move(id)), request_id_(std::move(request_id)) {}
  ~PostOutbox() override {
    // The federation let go without answering: a bug or a lost upstream. Never a hang.
    if (!done_) reply_(rpc_failure(200, id_, kInternal, "Internal error: the request was not answered"));
  }
  void send(boost::json::object message) override {
    if (message.contains("id"))
      log::warn("mcp: a server-to-client request was dropped (no stream to the client)",
                {{"request_id", request_id_}});
  }
  void answer(boost::json::object message) override {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    // The answer carries the client's id whatever the federation put there.
    message["jsonrpc"] = "2.0";
    message["id"] = id_;
    reply_(rpc_answer(200, message));
  }

 private:
  std::mutex mu_;
  bool done_ = false;
  net::Responder reply_;
  boost::json::value id_;
  std::string request_id_;
};

struct Shared {
  McpRouteDeps d;
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
  auto out = std::make_shared<PostOutbox>(std::move(reply), m.id, req->request_id);
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

void handle_get(std::shared_ptr<Shared> sh, std::shared_ptr<net::Request> req, Caller caller, net::Responder reply) {
  if (!accepts(media_types(req->header("accept")), "text/event-stream"))
    return reply(rpc_failure(406, nullptr, kInvalidRequest, "Not acceptable: Accept must list text/event-stream"));
  if (auto refused = session_headers_refusal(*req, nullptr)) return reply(std::move(*refused));
  with_session(sh, req, caller, std::move(reply), nullptr,
               [req](net::Responder reply, mcp::McpSession s) mutable {
                 if (auto refused = version_mismatch(*req, s, nullptr)) return reply(std::move(*refused));
                 // No server→client stream yet (the network layer's ResponseStream): the
                 // transport's answer for a server that offers none.
                 auto r = rpc_failure(405, nullptr, kMethodNotFound, "This endpoint offers no server-to-client stream");
                 r.headers.push_back({"Allow", "POST, DELETE"});
                 reply(std::move(r));
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
  auto sh = std::make_shared<Shared>(Shared{std::move(deps)});
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
