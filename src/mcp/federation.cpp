#include "mcp/federation.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "agents/idempotency.h"
#include "auth/principal.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/work_pool.h"
#include "crypto/random.h"
#include "mcp/federated_names.h"
#include "mcp/tool_calls.h"
#include "mcp/upstream_answer.h"
#include "mcp/upstream_client.h"

namespace pc::mcp {

namespace json = boost::json;

namespace {

using Clock = std::chrono::steady_clock;

json::object rpc_error(const json::value& id, int code, std::string_view message) {
  return json::object{{"jsonrpc", "2.0"},
                      {"id", id},
                      {"error", json::object{{"code", code}, {"message", json::string(message)}}}};
}

json::object rpc_result(const json::value& id, json::object result) {
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

std::string server_key(const ServerEntry& s) { return s.tenant + "/" + s.name; }

std::string id_text(const json::value& id) { return json::serialize(id); }

const json::object* obj_field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_object() ? &v->get_object() : nullptr;
}
const json::string* str_field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

// Answers exactly once, whatever path gets there first.
class Reply {
 public:
  Reply(std::shared_ptr<Outbox> out, json::value id) : out_(std::move(out)), id_(std::move(id)) {}
  bool answer(json::object message) {
    if (answered_.exchange(true)) return false;
    if (out_) out_->answer(std::move(message));
    return true;
  }
  bool result(json::object r) { return answer(rpc_result(id_, std::move(r))); }
  bool error(int code, std::string_view message) { return answer(rpc_error(id_, code, message)); }
  const json::value& id() const { return id_; }
  const std::shared_ptr<Outbox>& out() const { return out_; }

 private:
  std::shared_ptr<Outbox> out_;
  json::value id_;
  std::atomic<bool> answered_{false};
};

// Everything one client request needs, copied: it outlives the call into the federation.
struct Ctx {
  McpCaller caller;
  McpSession session;
  std::shared_ptr<Outbox> out;
  RuleSubject who() const {
    RuleSubject w{caller.tenant, caller.tier, {}};
    if (caller.principal) w.roles = caller.principal->roles;
    return w;
  }
};
using CtxPtr = std::shared_ptr<const Ctx>;

// One federated list: which method, where the items are, how they are named.
struct ListKind {
  std::string_view method;
  std::string_view items;       // "tools", "resources", "resourceTemplates", "prompts"
  std::string_view capability;  // the upstream capability that offers it
  enum Naming { by_name, by_uri, by_template } naming;
};
constexpr ListKind kTools{"tools/list", "tools", "tools", ListKind::by_name};
constexpr ListKind kPrompts{"prompts/list", "prompts", "prompts", ListKind::by_name};
constexpr ListKind kResources{"resources/list", "resources", "resources", ListKind::by_uri};
constexpr ListKind kTemplates{"resources/templates/list", "resourceTemplates", "resources", ListKind::by_template};

struct ServerItems {
  ServerEntry server;
  std::vector<json::object> items;
};

class FederationImpl final : public Federation, public std::enable_shared_from_this<FederationImpl> {
 public:
  FederationImpl(FederationPorts ports, FederationOptions options)
      : ports_(std::move(ports)),
        options_(std::move(options)),
        rules_(ports_.capabilities, ports_.policy),
        client_(UpstreamClient::Options{options_.server_name, options_.server_version, "2025-06-18"}),
        cursors_(options_.cursor_key.empty() ? crypto::random_bytes(32) : options_.cursor_key),
        node_(crypto::random_hex(4)) {
    if (!ports_.directory) throw std::invalid_argument("federation: directory is required");
    if (!ports_.blocking) throw std::invalid_argument("federation: blocking work pool is required");
  }

  // ---- Federation

  json::object initialize_result(const McpCaller&, const McpSession&) override {
    json::object caps;
    caps["tools"] = json::object{{"listChanged", true}};
    // subscribe: resources/subscribe and /unsubscribe go to the server that owns the URI; its
    // notifications/resources/updated come back on the relayed streams like any notification.
    caps["resources"] = json::object{{"subscribe", true}, {"listChanged", true}};
    caps["prompts"] = json::object{{"listChanged", true}};
    caps["completions"] = json::object{};
    caps["logging"] = json::object{};
    json::object r;
    r["capabilities"] = std::move(caps);
    r["serverInfo"] = json::object{{"name", options_.server_name}, {"version", options_.server_version}};
    if (!options_.instructions.empty()) r["instructions"] = options_.instructions;
    return r;
  }

  void request(const McpCaller& caller, const McpSession& session, json::object message,
               std::shared_ptr<Outbox> out) override {
    json::value id = message.contains("id") ? message.at("id") : json::value(nullptr);
    auto reply = std::make_shared<Reply>(out, id);
    auto ctx = std::make_shared<Ctx>(Ctx{caller, session, out});
    remember_caller(*ctx);
    try {
      const auto* m = str_field(message, "method");
      std::string method = m ? std::string(*m) : std::string();
      json::object params;
      if (auto* p = message.if_contains("params")) {
        if (!p->is_object()) return void(reply->error(-32602, "Invalid params"));
        params = p->get_object();
      }
      if (method == "ping") return void(reply->result({}));
      if (method == "tools/list") return list_across(ctx, reply, kTools, params);
      if (method == "prompts/list") return list_across(ctx, reply, kPrompts, params);
      if (method == "resources/list") return list_across(ctx, reply, kResources, params);
      if (method == "resources/templates/list") return list_across(ctx, reply, kTemplates, params);
      if (method == "tools/call") return call_tool(ctx, reply, std::move(params));
      if (method == "prompts/get") return get_prompt(ctx, reply, std::move(params));
      if (method == "resources/read") return read_resource(ctx, reply, std::move(params));
      if (method == "resources/subscribe" || method == "resources/unsubscribe")
        return subscribe_resource(ctx, reply, method, std::move(params));
      if (method == "completion/complete") return complete(ctx, reply, std::move(params));
      if (method == "logging/setLevel") return set_level(ctx, reply, std::move(params));
      reply->error(-32601, "Method not found");
    } catch (const std::exception& e) {
      log::error("mcp federation request failed", {{"error", e.what()}, {"request_id", caller.request_id}});
      reply->error(-32603, "Internal error");
    }
  }

  void notification(const McpCaller& caller, const McpSession& session, json::object message) override {
    try {
      const auto* m = str_field(message, "method");
      if (!m) return;
      auto ctx = std::make_shared<Ctx>(Ctx{caller, session, nullptr});
      if (*m == "notifications/cancelled") return cancel(ctx, message);
      if (*m == "notifications/roots/list_changed") return broadcast(ctx, std::move(message));
      // notifications/initialized and anything else concern the gateway only.
    } catch (const std::exception& e) {
      log::warn("mcp federation notification failed", {{"error", e.what()}});
    }
  }

  void client_response(const McpCaller& caller, const McpSession& session, json::object message) override {
    try {
      auto* id = message.if_contains("id");
      if (!id || !id->is_string()) return;
      PendingAsk ask;
      {
        std::lock_guard lk(mu_);
        auto& sd = sessions_[session.id];
        auto it = sd.asks.find(std::string(id->get_string()));
        if (it == sd.asks.end()) return;  // not ours, or answered already: dropped
        ask = std::move(it->second);
        sd.asks.erase(it);
      }
      auto server = find_server(caller.tenant, ask.server_key);
      if (!server) return;
      auto ctx = std::make_shared<Ctx>(Ctx{caller, session, nullptr});
      message["id"] = ask.upstream_id;
      send_to_upstream(ctx, *server, std::move(message));
    } catch (const std::exception& e) {
      log::warn("mcp federation client response failed", {{"error", e.what()}});
    }
  }

  void stream_opened(const McpCaller& caller, const McpSession& session, std::shared_ptr<Outbox> stream) override {
    auto ctx = std::make_shared<Ctx>(Ctx{caller, session, stream});
    std::vector<std::pair<ServerEntry, UpstreamSession>> open;
    {
      std::lock_guard lk(mu_);
      auto& sd = sessions_[session.id];
      sd.stream = stream;
      sd.caller = caller;
      for (const auto& s : allowed_servers(*ctx)) {
        auto it = sd.upstream.find(server_key(s));
        if (it != sd.upstream.end() && it->second.session && !sd.listeners.count(server_key(s)))
          open.emplace_back(s, *it->second.session);
      }
    }
    for (auto& [s, up] : open) listen(ctx, s, up);
  }

  void stream_closed(const McpSession& session) override {
    std::vector<std::shared_ptr<net::UpstreamCallHandle>> handles;
    {
      std::lock_guard lk(mu_);
      auto it = sessions_.find(session.id);
      if (it == sessions_.end()) return;
      it->second.stream.reset();
      for (auto& [k, h] : it->second.listeners) handles.push_back(h);
      it->second.listeners.clear();
    }
    for (auto& h : handles)
      if (h) h->cancel();
  }

  void session_ended(const McpSession& session) override {
    SessionData sd;
    {
      std::lock_guard lk(mu_);
      auto it = sessions_.find(session.id);
      if (it != sessions_.end()) {
        sd = std::move(it->second);
        sessions_.erase(it);
      }
    }
    for (auto& [k, h] : sd.listeners)
      if (h) h->cancel();
    // The upstream sessions this node knows, and those another node persisted.
    std::map<std::string, UpstreamSession> ups;
    for (auto& [k, st] : sd.upstream)
      if (st.session) ups[k] = *st.session;
    for (auto& [k, text] : session.upstream)
      if (!ups.count(k))
        if (auto s = decode_upstream_session(text)) ups[k] = *s;
    if (ups.empty()) return;
    McpCaller caller = sd.caller ? *sd.caller : McpCaller{nullptr, session.tenant, "", ""};
    auto ctx = std::make_shared<Ctx>(Ctx{caller, session, nullptr});
    for (auto& [k, up] : ups) {
      auto server = find_server(session.tenant, k);
      if (!server) continue;
      // Credentials minted for the caller: without one (another node's session) act-on-behalf
      // servers are left to expire the session themselves.
      if (server->auth == UpstreamAuth::act_on_behalf && !caller.principal) continue;
      auto self = shared_from_this();
      credentials(ctx, *server, timeout_for(*server), [self, up](std::optional<UpstreamTarget> t, std::string) {
        if (t) self->client_.end(*t, up);
      });
    }
  }

 private:
  struct UpState {
    std::optional<UpstreamSession> session;
    bool initializing = false;
    std::vector<std::function<void(std::optional<UpstreamSession>, std::string)>> waiters;
  };
  struct CachedSecret {
    std::string value;
    Clock::time_point until;
  };
  struct PendingAsk {
    std::string server_key;
    json::value upstream_id;
  };
  struct InFlight {
    std::string server_key;
    std::string upstream_id;
  };
  struct Catalogue {
    std::vector<json::object> items;  // tools: only those the rules allow
    Clock::time_point at;
    bool failed = false;  // the server did not answer: remembered briefly, so that calls resolving
                          // names do not wait for a slow server each time (it degrades only itself)
  };
  struct SessionData {
    Clock::time_point last_used = Clock::now();
    std::optional<McpCaller> caller;
    std::map<std::string, UpState> upstream;
    std::map<std::string, Catalogue> tools, prompts, resources, templates;  // by server key
    std::map<std::string, CachedSecret> secrets;
    std::shared_ptr<Outbox> stream;
    std::map<std::string, std::shared_ptr<net::UpstreamCallHandle>> listeners;
    std::map<std::string, PendingAsk> asks;        // gateway id → the upstream that asked
    std::map<std::string, InFlight> in_flight;     // client request id (JSON text) → upstream call
  };

  std::map<std::string, Catalogue> SessionData::*catalogue_of(const ListKind& k) {
    if (k.items == "tools") return &SessionData::tools;
    if (k.items == "prompts") return &SessionData::prompts;
    if (k.items == "resources") return &SessionData::resources;
    return &SessionData::templates;
  }

  void remember_caller(const Ctx& ctx) {
    std::vector<std::shared_ptr<net::UpstreamCallHandle>> stale;
    {
      std::lock_guard lk(mu_);
      auto& sd = sessions_[ctx.session.id];
      sd.caller = ctx.caller;
      sd.last_used = Clock::now();
      // A session ended on another node (or expired) never hears session_ended here: what this
      // node kept of it goes once it has been idle past the session idle time.
      if (++sweep_ % 1024 == 0) {
        auto idle = std::chrono::seconds(std::max<std::uint32_t>(options_.mcp.session_idle_seconds, 60));
        for (auto it = sessions_.begin(); it != sessions_.end();) {
          if (Clock::now() - it->second.last_used > idle && !it->second.stream) {
            for (auto& [k, h] : it->second.listeners) stale.push_back(h);
            it = sessions_.erase(it);
          } else {
            ++it;
          }
        }
      }
    }
    for (auto& h : stale)
      if (h) h->cancel();
  }

  std::chrono::milliseconds timeout_for(const ServerEntry& s) const {
    return std::chrono::milliseconds(s.timeout_ms > 0 ? s.timeout_ms : options_.mcp.call_timeout_ms);
  }
  std::chrono::milliseconds list_timeout() const { return std::chrono::milliseconds(options_.mcp.list_timeout_ms); }

  // The servers this caller may use, in the directory's order (by name). A tenant's own server
  // shadows a global one of the same name (names must identify one server for the prefix rule).
  std::vector<ServerEntry> allowed_servers(const Ctx& ctx) const {
    std::vector<ServerEntry> out;
    auto all = ports_.directory->for_tenant(ctx.caller.tenant);
    if (!all) return out;
    auto who = ctx.who();
    std::set<std::string> own;
    for (const auto& s : *all)
      if (!s.is_global() && s.tenant == ctx.caller.tenant) own.insert(s.name);
    for (const auto& s : *all) {
      if (s.is_global() && own.count(s.name)) continue;
      if (rules_.allows_server(who, s)) out.push_back(s);
    }
    return out;
  }

  std::optional<ServerEntry> find_server(const std::string& tenant, const std::string& key) const {
    auto all = ports_.directory->for_tenant(tenant);
    if (!all) return std::nullopt;
    for (const auto& s : *all)
      if (server_key(s) == key) return s;
    return std::nullopt;
  }

  std::string new_upstream_id() { return "pc-" + node_ + "-" + std::to_string(++seq_); }

  void health(const ServerEntry& s, bool ok, std::string_view reason, std::string_view tools_json = {}) {
    if (!ports_.health) return;
    try {
      ports_.health->report(s.tenant, s.name, ok, reason, tools_json);
    } catch (const std::exception& e) {
      log::warn("mcp health report failed", {{"error", e.what()}});
    }
  }

  // ---- credentials: never the client's own token

  void credentials(const CtxPtr& ctx, const ServerEntry& s, std::chrono::milliseconds timeout,
                   std::function<void(std::optional<UpstreamTarget>, std::string)> done) {
    UpstreamTarget t;
    t.server = s;
    t.timeout = timeout;
    t.deadline = timeout;  // lists: mcp.list_timeout_ms; calls: the server's or mcp.call_timeout_ms
    t.max_bytes = options_.mcp.max_result_bytes;
    t.ca_file = options_.ca_file;
    switch (s.auth) {
      case UpstreamAuth::none:
        return done(std::move(t), "");
      case UpstreamAuth::act_on_behalf: {
        if (!ports_.mint || !ctx->caller.principal) return done(std::nullopt, "credentials");
        std::string token;
        try {
          token = ports_.mint(ctx->caller, s.url, ctx->session.id);
        } catch (const std::exception& e) {
          log::warn("mcp act-on-behalf mint failed", {{"server", s.name}, {"error", e.what()}});
          return done(std::nullopt, "credentials");
        }
        if (token.empty()) return done(std::nullopt, "credentials");
        t.auth_headers.push_back({"Authorization", "Bearer " + token});
        return done(std::move(t), "");
      }
      case UpstreamAuth::vault_secret: {
        std::string key = server_key(s);
        std::optional<std::string> cached;
        {
          std::lock_guard lk(mu_);
          auto& sd = sessions_[ctx->session.id];
          auto it = sd.secrets.find(key);
          if (it != sd.secrets.end() && it->second.until > Clock::now()) cached = it->second.value;
        }
        if (cached) {  // never call on while holding mu_: the continuation takes it again
          add_secret_header(t, s, *cached);
          return done(std::move(t), "");
        }
        if (!ports_.vault) return done(std::nullopt, "credentials");
        auto self = shared_from_this();
        bool queued = ports_.blocking->try_submit([self, ctx, s, key, t = std::move(t), done]() mutable {
          std::optional<std::string> secret;
          try {
            secret = self->ports_.vault(ctx->caller.tenant, s.secret);
          } catch (const std::exception& e) {
            log::warn("mcp vault secret read failed", {{"server", s.name}, {"error", e.what()}});
          }
          if (!secret) return done(std::nullopt, "credentials");
          {
            std::lock_guard lk(self->mu_);
            self->sessions_[ctx->session.id].secrets[key] = {*secret, Clock::now() + self->options_.secret_cache};
          }
          add_secret_header(t, s, *secret);
          done(std::move(t), "");
        });
        if (!queued) return done(std::nullopt, "busy");
        return;
      }
    }
    done(std::nullopt, "credentials");
  }

  static void add_secret_header(UpstreamTarget& t, const ServerEntry& s, const std::string& secret) {
    std::string header = s.header.empty() ? "Authorization" : s.header;
    t.auth_headers.push_back({header, net::iequals(header, "Authorization") ? "Bearer " + secret : secret});
  }

  // ---- upstream sessions

  json::object offered_client_capabilities(const Ctx& ctx) const {
    // The gateway relays sampling, elicitation and roots: offer upstream what the client offers.
    json::object caps;
    for (const char* k : {"sampling", "elicitation", "roots"})
      if (auto* v = ctx.session.client_capabilities.if_contains(k)) caps[k] = *v;
    return caps;
  }

  using SessionDone = std::function<void(std::optional<UpstreamSession>, std::string)>;

  void with_upstream(const CtxPtr& ctx, const ServerEntry& s, std::chrono::milliseconds timeout, bool fresh,
                     SessionDone done) {
    std::string key = server_key(s);
    {
      std::unique_lock lk(mu_);
      auto& st = sessions_[ctx->session.id].upstream[key];
      if (fresh && st.session) st.session.reset();
      if (!st.session && !fresh && !st.initializing) {
        if (auto it = ctx->session.upstream.find(key); it != ctx->session.upstream.end())
          st.session = decode_upstream_session(it->second);  // persisted by this or another node
      }
      if (st.session) {
        auto copy = *st.session;
        lk.unlock();
        return done(std::move(copy), "");
      }
      st.waiters.push_back(std::move(done));
      if (st.initializing) return;
      st.initializing = true;
    }
    auto self = shared_from_this();
    auto finish = [self, ctx, key, s](std::optional<UpstreamSession> up, std::string err) {
      std::vector<SessionDone> waiters;
      bool stream_open = false;
      {
        std::lock_guard lk(self->mu_);
        auto& sd = self->sessions_[ctx->session.id];
        auto& st = sd.upstream[key];
        st.initializing = false;
        st.session = up;
        waiters.swap(st.waiters);
        stream_open = sd.stream && !sd.listeners.count(key);
      }
      if (up && self->ports_.sessions) {
        try {
          self->ports_.sessions->set_upstream(ctx->session.id, key, encode_upstream_session(*up));
        } catch (const std::exception& e) {
          log::warn("mcp upstream session not persisted", {{"server", s.name}, {"error", e.what()}});
        }
      }
      if (!up) self->health(s, false, "initialize: " + err);
      for (auto& w : waiters) w(up, err);
      if (up && stream_open) self->listen(ctx, s, *up);
    };
    credentials(ctx, s, timeout, [self, ctx, finish](std::optional<UpstreamTarget> t, std::string err) {
      if (!t) return finish(std::nullopt, err);
      self->client_.initialize(*t, ctx->session.protocol_version, self->offered_client_capabilities(*ctx), finish);
    });
  }

  // One request to one server in the client's upstream session: credentials, session (created or
  // resumed), the call, and on "session expired" one fresh session and one retry.
  void call_server(const CtxPtr& ctx, const ServerEntry& s, std::string method, json::object params,
                   std::chrono::milliseconds timeout, MessageSink on_message, std::function<void(UpstreamResult)> done,
                   std::function<void(const std::string& upstream_id, std::shared_ptr<net::UpstreamCallHandle>)>
                       on_started = {},
                   bool retried = false) {
    auto self = shared_from_this();
    with_upstream(ctx, s, timeout, retried, [=](std::optional<UpstreamSession> up, std::string err) mutable {
      if (!up) return done(UpstreamResult{std::nullopt, err});
      self->credentials(ctx, s, timeout, [=](std::optional<UpstreamTarget> t, std::string err2) mutable {
        if (!t) return done(UpstreamResult{std::nullopt, err2});
        std::string uid = self->new_upstream_id();
        json::object msg{{"jsonrpc", "2.0"}, {"id", uid}, {"method", method}};
        if (!params.empty()) msg["params"] = params;
        auto handle = self->client_.request(*t, *up, std::move(msg), on_message, [=](UpstreamResult r) mutable {
          if (!r.response && r.error == "session_expired" && !retried) {
            std::string key = server_key(s);
            {
              std::lock_guard lk(self->mu_);
              self->sessions_[ctx->session.id].upstream[key].session.reset();
            }
            return self->call_server(ctx, s, method, params, timeout, on_message, done, on_started, true);
          }
          done(std::move(r));
        });
        if (on_started) on_started(uid, handle);
      });
    });
  }

  // Messages an upstream sends while a request is open: notifications go to the client (progress,
  // logging), requests are relayed with a gateway id (ask()).
  MessageSink relay_to(const CtxPtr& ctx, const ServerEntry& s, std::shared_ptr<Outbox> out) {
    auto self = shared_from_this();
    std::string key = server_key(s);
    return [self, ctx, key, out](json::object m) {
      if (!out) return;
      auto kind = classify(m);
      if (kind == MessageKind::notification) {
        self->on_upstream_notification(ctx->session.id, key, m);
        return out->send(std::move(m));
      }
      if (kind == MessageKind::request) return self->ask(ctx, key, std::move(m), out);
    };
  }

  void on_upstream_notification(const std::string& session_id, const std::string& key, const json::object& m) {
    const auto* method = str_field(m, "method");
    if (!method) return;
    std::lock_guard lk(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    if (*method == "notifications/tools/list_changed") it->second.tools.erase(key);
    if (*method == "notifications/prompts/list_changed") it->second.prompts.erase(key);
    if (*method == "notifications/resources/list_changed") {
      it->second.resources.erase(key);
      it->second.templates.erase(key);
    }
  }

  // A server→client request (sampling/createMessage, elicitation/create, roots/list, ping): sent
  // to the client with an id of the gateway's choosing; client_response() routes the answer back.
  void ask(const CtxPtr& ctx, const std::string& key, json::object m, const std::shared_ptr<Outbox>& out) {
    json::value upstream_id = m.at("id");
    const auto* method = str_field(m, "method");
    // Only what the client declared at initialize is relayed (the gateway offered the upstream
    // no more); anything else is refused to the upstream at once.
    std::string_view needs = !method                               ? ""
                             : *method == "sampling/createMessage" ? "sampling"
                             : *method == "elicitation/create"     ? "elicitation"
                             : *method == "roots/list"             ? "roots"
                             : *method == "ping"                   ? "-"
                                                                   : "";
    if (needs.empty() || (needs != "-" && !ctx->session.client_capabilities.contains(needs)))
      return refuse_ask(ctx, key, upstream_id, -32601, "Method not found");
    std::string gid = "pc-ask-" + node_ + "-" + std::to_string(++seq_);
    {
      std::lock_guard lk(mu_);
      auto& sd = sessions_[ctx->session.id];
      if (sd.asks.size() >= 1024) {  // a server flooding the client with requests
        gid.clear();
      } else {
        sd.asks[gid] = PendingAsk{key, upstream_id};
      }
    }
    if (gid.empty()) return refuse_ask(ctx, key, upstream_id, -32603, "Too many pending requests");
    m["id"] = gid;
    if (out->send_request(std::move(m))) return;
    {
      std::lock_guard lk(mu_);
      if (auto it = sessions_.find(ctx->session.id); it != sessions_.end()) it->second.asks.erase(gid);
    }
    refuse_ask(ctx, key, upstream_id, -32603, "The client cannot be reached");
  }

  void refuse_ask(const CtxPtr& ctx, const std::string& key, const json::value& upstream_id, int code,
                  std::string_view message) {
    auto server = find_server(ctx->caller.tenant, key);
    if (server) send_to_upstream(ctx, *server, rpc_error(upstream_id, code, message));
  }

  void send_to_upstream(const CtxPtr& ctx, const ServerEntry& s, json::object message) {
    auto self = shared_from_this();
    auto timeout = timeout_for(s);
    with_upstream(ctx, s, timeout, false, [self, ctx, s, timeout, message](std::optional<UpstreamSession> up, std::string) {
      if (!up) return;
      self->credentials(ctx, s, timeout, [self, up, message](std::optional<UpstreamTarget> t, std::string) {
        if (t) self->client_.notify(*t, *up, message, {});
      });
    });
  }

  void listen(const CtxPtr& ctx, const ServerEntry& s, const UpstreamSession& up) {
    if (up.session_id.empty()) return;  // a stateless server has no stream of its own
    std::string key = server_key(s);
    auto self = shared_from_this();
    credentials(ctx, s, timeout_for(s), [self, ctx, s, up, key](std::optional<UpstreamTarget> t, std::string) {
      if (!t) return;
      std::shared_ptr<Outbox> stream;
      {
        std::lock_guard lk(self->mu_);
        auto& sd = self->sessions_[ctx->session.id];
        if (!sd.stream || sd.listeners.count(key)) return;
        stream = sd.stream;
        sd.listeners[key] = nullptr;  // reserved
      }
      auto h = self->client_.listen(*t, up, self->relay_to(ctx, s, stream), [self, sid = ctx->session.id, key] {
        std::lock_guard lk(self->mu_);
        if (auto it = self->sessions_.find(sid); it != self->sessions_.end()) it->second.listeners.erase(key);
      });
      std::lock_guard lk(self->mu_);
      auto it = self->sessions_.find(ctx->session.id);
      if (it != self->sessions_.end() && it->second.listeners.count(key)) it->second.listeners[key] = h;
      else if (h) h->cancel();
    });
  }

  void broadcast(const CtxPtr& ctx, json::object message) {
    std::vector<ServerEntry> targets;
    {
      std::lock_guard lk(mu_);
      auto& sd = sessions_[ctx->session.id];
      for (const auto& s : allowed_servers(*ctx)) {
        auto it = sd.upstream.find(server_key(s));
        if (it != sd.upstream.end() && it->second.session) targets.push_back(s);
      }
    }
    for (const auto& s : targets) send_to_upstream(ctx, s, message);
  }

  void cancel(const CtxPtr& ctx, const json::object& message) {
    const auto* params = obj_field(message, "params");
    if (!params || !params->contains("requestId")) return;
    InFlight f;
    {
      std::lock_guard lk(mu_);
      auto& sd = sessions_[ctx->session.id];
      auto it = sd.in_flight.find(id_text(params->at("requestId")));
      if (it == sd.in_flight.end()) return;
      f = it->second;
    }
    auto server = find_server(ctx->caller.tenant, f.server_key);
    if (!server) return;
    json::object p{{"requestId", f.upstream_id}};
    if (auto* reason = params->if_contains("reason"); reason && reason->is_string()) p["reason"] = *reason;
    send_to_upstream(ctx, *server, json::object{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", p}});
  }

  // ---- lists

  // Every page of one server's list (at most 16 upstream pages), within the list timeout.
  void fetch_all(const CtxPtr& ctx, const ServerEntry& s, const ListKind& kind,
                 std::function<void(std::optional<std::vector<json::object>>, std::string, std::string raw)> done,
                 std::shared_ptr<std::vector<json::object>> acc = nullptr, std::string cursor = {}, int page = 0,
                 std::shared_ptr<json::array> raw = nullptr) {
    if (!acc) acc = std::make_shared<std::vector<json::object>>();
    if (!raw) raw = std::make_shared<json::array>();
    auto self = shared_from_this();
    // A server that did not declare the capability has no such list: empty, not an error.
    with_upstream(ctx, s, list_timeout(), false, [=](std::optional<UpstreamSession> up, std::string err) {
      if (!up) return done(std::nullopt, err, "");
      if (!up->capabilities.contains(kind.capability)) return done(std::vector<json::object>{}, "", "");
      json::object params;
      if (!cursor.empty()) params["cursor"] = cursor;
      self->call_server(ctx, s, std::string(kind.method), params, self->list_timeout(), nullptr,
                        [=](UpstreamResult r) {
                          if (!r.response) return done(std::nullopt, r.error, "");
                          const auto* result = obj_field(*r.response, "result");
                          if (!result) return done(std::nullopt, "error_answer", "");
                          auto* items = result->if_contains(kind.items);
                          if (!items || !items->is_array()) return done(std::nullopt, "bad_list", "");
                          for (const auto& it : items->get_array()) {
                            if (!it.is_object()) continue;
                            acc->push_back(it.get_object());
                            raw->push_back(it);
                          }
                          const auto* next = str_field(*result, "nextCursor");
                          if (next && !next->empty() && page + 1 < 16)
                            return self->fetch_all(ctx, s, kind, done, acc, std::string(*next), page + 1, raw);
                          done(std::move(*acc), "", json::serialize(*raw));
                        });
    });
  }

  // Gathers `kind` from every allowed server in parallel; a server that fails drops out.
  // For tools, only the tools the rules allow stay (so refused tools look absent everywhere).
  void gather(const CtxPtr& ctx, const ListKind& kind, std::vector<ServerEntry> servers, bool use_cache,
              std::function<void(std::vector<ServerItems>)> done) {
    struct Acc {
      std::mutex mu;
      std::vector<ServerItems> parts;
      std::size_t left = 0;
      std::function<void(std::vector<ServerItems>)> done;
    };
    auto acc = std::make_shared<Acc>();
    acc->parts.resize(servers.size());
    acc->done = std::move(done);
    auto cat = catalogue_of(kind);
    std::vector<std::size_t> todo;
    {
      std::lock_guard lk(mu_);
      auto& sd = sessions_[ctx->session.id];
      for (std::size_t i = 0; i < servers.size(); ++i) {
        acc->parts[i].server = servers[i];
        auto it = (sd.*cat).find(server_key(servers[i]));
        auto ttl = it != (sd.*cat).end() && it->second.failed ? std::chrono::seconds(30) : std::chrono::seconds(300);
        if (use_cache && it != (sd.*cat).end() && Clock::now() - it->second.at < ttl)
          acc->parts[i].items = it->second.items;
        else
          todo.push_back(i);
      }
    }
    if (todo.empty()) return acc->done(std::move(acc->parts));
    acc->left = todo.size();
    auto self = shared_from_this();
    auto who = ctx->who();
    for (auto i : todo) {
      const auto s = servers[i];
      auto started = Clock::now();
      fetch_all(ctx, s, kind, [=](std::optional<std::vector<json::object>> items, std::string err, std::string raw) {
        std::vector<json::object> kept;
        if (items) {
          for (auto& it : *items) {
            if (kind.items == "tools") {
              const auto* name = str_field(it, "name");
              if (!name || !self->rules_.allows_tool(who, s, *name)) continue;
            }
            kept.push_back(std::move(it));
          }
          if (kind.items == "tools") self->health(s, true, "", raw);
          std::lock_guard lk(self->mu_);
          (self->sessions_[ctx->session.id].*cat)[server_key(s)] = Catalogue{kept, Clock::now()};
        } else {
          auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
          log::warn("mcp server dropped out of a list",
                          {{"server", s.name}, {"method", kind.method}, {"reason", err}, {"latency_ms", ms},
                           {"request_id", ctx->caller.request_id}});
          self->health(s, false, std::string(kind.method) + ": " + err);
          std::lock_guard lk(self->mu_);
          (self->sessions_[ctx->session.id].*cat)[server_key(s)] = Catalogue{{}, Clock::now(), true};
        }
        std::unique_lock lk(acc->mu);
        acc->parts[i].items = std::move(kept);
        if (--acc->left > 0) return;
        lk.unlock();
        acc->done(std::move(acc->parts));
      });
    }
  }

  void list_across(const CtxPtr& ctx, std::shared_ptr<Reply> reply, const ListKind& kind, const json::object& params) {
    auto servers = allowed_servers(*ctx);
    std::optional<ListPosition> pos;
    if (auto* c = params.if_contains("cursor")) {
      if (!c->is_string()) return void(reply->error(-32602, "Invalid cursor"));
      pos = cursors_.decode(c->get_string(), kind.method, ctx->session.id);
      bool known = pos && std::any_of(servers.begin(), servers.end(),
                                      [&](const ServerEntry& s) { return server_key(s) == pos->server_key; });
      // A cursor naming a server the caller may not (or no longer) use is refused like a forgery.
      if (!known) return void(reply->error(-32602, "Invalid cursor"));
    }
    auto self = shared_from_this();
    // A first page asks every server afresh; later pages reuse what the first one gathered.
    gather(ctx, kind, servers, pos.has_value(), [self, reply, kind, pos, ctx](std::vector<ServerItems> parts) {
      try {
        self->answer_page(*ctx, *reply, kind, std::move(parts), pos);
      } catch (const std::exception& e) {
        log::error("mcp list failed", {{"error", e.what()}});
        reply->error(-32603, "Internal error");
      }
    });
  }

  void answer_page(const Ctx& ctx, Reply& reply, const ListKind& kind, std::vector<ServerItems> parts,
                   const std::optional<ListPosition>& pos) {
    struct Row {
      std::size_t part;
      std::size_t index;  // within its server
      json::object item;
    };
    std::vector<Row> rows;
    if (kind.naming == ListKind::by_name) {
      std::vector<OfferedName> offered;
      std::vector<std::pair<std::size_t, std::size_t>> where;
      for (std::size_t p = 0; p < parts.size(); ++p)
        for (std::size_t i = 0; i < parts[p].items.size(); ++i) {
          const auto* name = str_field(parts[p].items[i], "name");
          if (!name) continue;
          offered.push_back({parts[p].server.name, std::string(*name)});
          where.emplace_back(p, i);
        }
      auto names = exposed_names(offered);
      for (std::size_t n = 0; n < names.size(); ++n) {
        auto [p, i] = where[n];
        json::object item = parts[p].items[i];
        item["name"] = names[n];
        rows.push_back({p, i, std::move(item)});
      }
    } else {
      // Resources by URI: the first server (by name) wins a clash; the clash is logged.
      std::map<std::string, std::string> seen;
      std::string_view field = kind.naming == ListKind::by_uri ? "uri" : "uriTemplate";
      for (std::size_t p = 0; p < parts.size(); ++p)
        for (std::size_t i = 0; i < parts[p].items.size(); ++i) {
          const auto* uri = str_field(parts[p].items[i], field);
          if (!uri) continue;
          auto [it, fresh] = seen.emplace(std::string(*uri), parts[p].server.name);
          if (!fresh) {
            log::info("mcp resource offered by two servers",
                            {{"uri", std::string(*uri)}, {"kept", it->second}, {"dropped", parts[p].server.name}});
            continue;
          }
          rows.push_back({p, i, parts[p].items[i]});
        }
    }
    std::size_t start = 0;
    if (pos) {
      start = rows.size();
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto& row = rows[r];
        auto key = server_key(parts[row.part].server);
        // The first row of the cursor's server at or past its index (or the next server's).
        bool after_server = key > pos->server_key;
        if ((key == pos->server_key && row.index >= pos->index) || after_server) {
          start = r;
          break;
        }
      }
    }
    json::array page;
    std::size_t end = std::min(rows.size(), start + std::max<std::size_t>(1, options_.page_size));
    for (std::size_t r = start; r < end; ++r) page.push_back(std::move(rows[r].item));
    json::object result;
    result[std::string(kind.items)] = std::move(page);
    if (end < rows.size()) {
      const auto& next = rows[end];
      result["nextCursor"] = cursors_.encode(
          ListPosition{std::string(kind.method), ctx.session.id, server_key(parts[next.part].server), next.index});
    }
    reply.result(std::move(result));
  }

  // ---- resolution of a tool or prompt name

  struct Resolved {
    ServerEntry server;
    json::object item;  // as the server lists it
  };

  void resolve(const CtxPtr& ctx, const ListKind& kind, std::string exposed,
               std::function<void(std::optional<Resolved>)> done) {
    auto servers = allowed_servers(*ctx);
    gather(ctx, kind, servers, true, [exposed, done](std::vector<ServerItems> parts) {
      std::vector<OfferedName> offered;
      std::vector<std::pair<std::size_t, std::size_t>> where;
      for (std::size_t p = 0; p < parts.size(); ++p)
        for (std::size_t i = 0; i < parts[p].items.size(); ++i)
          if (const auto* name = str_field(parts[p].items[i], "name")) {
            offered.push_back({parts[p].server.name, std::string(*name)});
            where.emplace_back(p, i);
          }
      auto n = resolve_exposed(exposed, offered);
      if (!n) return done(std::nullopt);
      auto [p, i] = where[*n];
      done(Resolved{parts[p].server, parts[p].items[i]});
    });
  }

  // ---- tools/call

  struct CallState {
    CtxPtr ctx;
    std::shared_ptr<Reply> reply;
    CallContext cc;
    json::object params;        // as the interceptors leave them
    json::object input_schema;  // from the server's last tools/list
    ServerEntry server;
    Clock::time_point started = Clock::now();
    std::string created_at = core::rfc3339_now();
    std::string arguments_text;
    std::optional<agents::IdempotencyKey> idem;
    std::string idem_owner;
    ResponseFacts facts;
    std::string client_id_text;
    std::atomic<bool> finished{false};
    bool record = true;  // tools/call: idempotency and records; other forwarded methods: neither
  };

  void fill_context(const std::shared_ptr<CallState>& cs, const std::string& tool, const std::string& exposed) {
    const auto& ctx = cs->ctx;
    auto& cc = cs->cc;
    cc.request_id = ctx->caller.request_id;
    cc.tenant = ctx->caller.tenant;
    cc.tier = ctx->caller.tier;
    if (ctx->caller.principal) {
      const auto& p = *ctx->caller.principal;
      cc.subject = p.subject;
      cc.client = p.client;
      cc.roles = p.roles;
      if (!p.actor.empty()) cc.actors.push_back(p.actor);
      cc.actors.insert(cc.actors.end(), p.prior_actors.begin(), p.prior_actors.end());
    }
    cc.session_id = ctx->session.id;
    cc.server = cs->server.name;
    cc.tool = tool;
    cc.exposed_name = exposed;
    cc.server_entry = &cs->server;
    cs->client_id_text = id_text(cs->reply->id());
  }

  void call_tool(const CtxPtr& ctx, std::shared_ptr<Reply> reply, json::object params) {
    const auto* name = str_field(params, "name");
    if (!name || name->empty()) return void(reply->error(-32602, "Invalid params: name"));
    if (auto* a = params.if_contains("arguments"); a && !a->is_object())
      return void(reply->error(-32602, "Invalid params: arguments"));
    std::string exposed(*name);
    auto self = shared_from_this();
    resolve(ctx, kTools, exposed, [self, ctx, reply, params, exposed](std::optional<Resolved> r) mutable {
      // Absent and refused answer alike: a tool the rules refuse was never in the catalogue.
      if (!r) return void(reply->error(-32602, "Unknown tool: " + exposed));
      auto cs = std::make_shared<CallState>();
      cs->ctx = ctx;
      cs->reply = reply;
      cs->server = r->server;
      cs->params = std::move(params);
      const auto* tool_name = str_field(r->item, "name");
      // The catalogue may be minutes old: the rules are asked again now (a capability killed
      // since the list makes the tool unknown at once).
      if (!tool_name || !self->rules_.allows_tool(ctx->who(), r->server, *tool_name))
        return void(reply->error(-32602, "Unknown tool: " + exposed));
      cs->params["name"] = *tool_name;
      if (const auto* schema = obj_field(r->item, "inputSchema")) cs->input_schema = *schema;
      self->fill_context(cs, std::string(*tool_name), exposed);
      cs->cc.input_schema = obj_field(r->item, "inputSchema") ? &cs->input_schema : nullptr;
      self->run_request_chain(cs, 0);
    });
  }

  // Fail closed: every step that throws, denies or cannot run ends the call with an error.
  void fail(const std::shared_ptr<CallState>& cs, int code, std::string_view message, std::string_view outcome,
            std::string_view why = {}) {
    if (!why.empty())
      log::warn("mcp tools/call failed", {{"server", cs->server.name}, {"tool", cs->cc.tool},
                                                 {"reason", why}, {"request_id", cs->cc.request_id}});
    finish(cs, rpc_error(cs->reply->id(), code, message), std::string(outcome), code);
  }

  void run_request_chain(const std::shared_ptr<CallState>& cs, std::size_t i) {
    const auto& chain = ports_.request_interceptors;
    if (i >= chain.size()) return idempotency_begin(cs);
    auto self = shared_from_this();
    auto once = std::make_shared<std::atomic<bool>>(false);
    auto next = [self, cs, i, once](Decision d) {
      if (once->exchange(true)) return;
      try {
        if (d.kind == Decision::deny) {
          int code = d.code == 0 ? -32003 : d.code;
          // A denial with -32602 "Unknown tool" must look like absence: keep the exact message.
          return self->fail(cs, code, d.reason.empty() ? "Forbidden" : d.reason, code == -32603 ? "failed" : "denied");
        }
        self->run_request_chain(cs, i + 1);
      } catch (const std::exception& e) {
        self->fail(cs, -32603, "Internal error", "failed", e.what());
      }
    };
    try {
      const auto& ic = chain[i];
      if (!ic) throw std::runtime_error("null request interceptor");
      ic->on_request(cs->cc, cs->params, next);
    } catch (const std::exception& e) {
      if (!once->exchange(true)) fail(cs, -32603, "Internal error", "failed", e.what());
    } catch (...) {
      if (!once->exchange(true)) fail(cs, -32603, "Internal error", "failed", "interceptor threw");
    }
  }

  void idempotency_begin(const std::shared_ptr<CallState>& cs) {
    // The arguments as the upstream will get them (after the interceptors), for the record.
    if (auto* a = cs->params.if_contains("arguments")) cs->arguments_text = json::serialize(*a);
    else cs->arguments_text = "{}";
    if (!ports_.idempotency || cs->ctx->session.id.empty()) return call_upstream_tool(cs);
    agents::IdempotencyKey k;
    k.tenant_id = cs->cc.tenant;
    k.principal = cs->cc.subject;
    // One key per (session, JSON-RPC id), hashed to fit the key rules whatever the id's form.
    k.key = "mcp:" + agents::Idempotency::request_hash("mcp", cs->ctx->session.id, cs->client_id_text);
    k.request_hash = agents::Idempotency::request_hash("tools/call", cs->cc.exposed_name, cs->arguments_text);
    cs->idem = k;
    auto self = shared_from_this();
    bool queued = ports_.blocking->try_submit([self, cs] {
      agents::Idempotency::Begin b;
      try {
        b = self->ports_.idempotency->begin(*cs->idem);
      } catch (const std::exception& e) {
        cs->idem.reset();
        return self->fail(cs, -32603, "Internal error", "failed", std::string("idempotency: ") + e.what());
      }
      switch (b.outcome) {
        case agents::Idempotency::Outcome::run:
          cs->idem_owner = b.owner;
          return self->call_upstream_tool(cs);
        case agents::Idempotency::Outcome::in_flight:
          cs->idem.reset();
          return self->fail(cs, -32600, "Request id already in flight", "denied");
        case agents::Idempotency::Outcome::mismatch:
          cs->idem.reset();
          return self->fail(cs, -32600, "Request id reused with other parameters", "denied");
        case agents::Idempotency::Outcome::replay: {
          cs->idem.reset();
          std::error_code ec;
          auto v = json::parse(b.answer.body, ec);
          if (ec || !v.is_object()) return self->fail(cs, -32603, "Internal error", "failed", "replay unreadable");
          auto& o = v.as_object();
          o["id"] = cs->reply->id();  // the same id by construction; set anyway
          return self->finish(cs, std::move(o), "replayed", 0);
        }
      }
    });
    if (!queued) {
      cs->idem.reset();
      fail(cs, -32603, "Server busy", "failed", "work pool full");
    }
  }

  void call_upstream_tool(const std::shared_ptr<CallState>& cs) {
    auto self = shared_from_this();
    auto key = server_key(cs->server);
    call_server(
        cs->ctx, cs->server, "tools/call", cs->params, timeout_for(cs->server),
        relay_to(cs->ctx, cs->server, cs->ctx->out),
        [self, cs](UpstreamResult r) {
          self->forget_in_flight(cs);
          try {
            if (!r.response) {
              self->health(cs->server, r.error == "too_large", "tools/call: " + r.error);
              return self->fail(cs, -32603, r.error == "too_large" ? "Upstream result too large" : "Upstream failure",
                                "failed", r.error);
            }
            self->run_response_chain(cs, std::move(*r.response));
          } catch (const std::exception& e) {
            self->fail(cs, -32603, "Internal error", "failed", e.what());
          }
        },
        [self, cs, key](const std::string& uid, std::shared_ptr<net::UpstreamCallHandle>) {
          std::lock_guard lk(self->mu_);
          self->sessions_[cs->ctx->session.id].in_flight[cs->client_id_text] = InFlight{key, uid};
        });
  }

  void forget_in_flight(const std::shared_ptr<CallState>& cs) {
    std::lock_guard lk(mu_);
    if (auto it = sessions_.find(cs->ctx->session.id); it != sessions_.end()) it->second.in_flight.erase(cs->client_id_text);
  }

  void run_response_chain(const std::shared_ptr<CallState>& cs, json::object response) {
    bool is_error = response.contains("error");
    auto value = std::make_shared<json::value>(is_error ? response.at("error") : response.contains("result") ? response.at("result") : json::value(json::object{}));
    if (is_error && !value->is_object()) return fail(cs, -32603, "Upstream failure", "failed", "bad error object");
    if (!is_error && !value->is_object()) return fail(cs, -32603, "Upstream failure", "failed", "bad result");
    step_response(cs, value, is_error, 0);
  }

  void step_response(const std::shared_ptr<CallState>& cs, std::shared_ptr<json::value> value, bool is_error,
                     std::size_t i) {
    const auto& chain = ports_.response_interceptors;
    if (i >= chain.size()) {
      json::object out{{"jsonrpc", "2.0"}, {"id", cs->reply->id()}};
      std::string outcome = "succeeded";
      int code = 0;
      if (is_error) {
        out["error"] = *value;
        outcome = "failed";
        if (auto* c = value->get_object().if_contains("code"); c && c->is_int64()) code = static_cast<int>(c->get_int64());
      } else {
        out["result"] = *value;
        if (auto* e = value->get_object().if_contains("isError"); e && e->is_bool() && e->get_bool()) outcome = "tool_error";
      }
      return finish(cs, std::move(out), outcome, code);
    }
    auto self = shared_from_this();
    auto once = std::make_shared<std::atomic<bool>>(false);
    auto next = [self, cs, value, is_error, i, once](Decision d) {
      if (once->exchange(true)) return;
      try {
        if (d.kind == Decision::deny) {
          int code = d.code == 0 ? -32603 : d.code;
          return self->fail(cs, code, d.reason.empty() ? "Result refused" : d.reason,
                            code == -32603 ? "failed" : "denied");
        }
        self->step_response(cs, value, is_error, i + 1);
      } catch (const std::exception& e) {
        self->fail(cs, -32603, "Internal error", "failed", e.what());
      }
    };
    try {
      const auto& ic = chain[i];
      if (!ic) throw std::runtime_error("null response interceptor");
      ic->on_response(cs->cc, *value, is_error, cs->facts, next);
    } catch (const std::exception& e) {
      if (!once->exchange(true)) fail(cs, -32603, "Internal error", "failed", e.what());
    } catch (...) {
      if (!once->exchange(true)) fail(cs, -32603, "Internal error", "failed", "interceptor threw");
    }
  }

  // The end of every tools/call: remember (idempotency), answer, record. The answer is stored
  // before it is sent, so a client that retries the id after seeing it gets it again, never
  // "in flight".
  void finish(const std::shared_ptr<CallState>& cs, json::object response, std::string outcome, int code) {
    if (cs->finished.exchange(true)) return;
    std::string body = json::serialize(response);
    if (!cs->idem) return deliver(cs, std::move(response), std::move(body), std::move(outcome), code);
    // Internal failures are not replayed (a retry should run); answers and refusals are.
    bool keep = code != -32603;
    auto k = *cs->idem;
    auto owner = cs->idem_owner;
    cs->idem.reset();
    auto self = shared_from_this();
    auto job = std::make_shared<std::function<void()>>(
        [self, cs, k, owner, keep, response, body, outcome, code]() mutable {
          try {
            if (keep)
              self->ports_.idempotency->complete(k, owner, agents::RememberedAnswer{200, "application/json", body});
            else
              self->ports_.idempotency->release(k, owner);
          } catch (const std::exception& e) {
            log::warn("mcp idempotency completion failed", {{"error", e.what()}});
          }
          self->deliver(cs, std::move(response), std::move(body), std::move(outcome), code);
        });
    if (!ports_.blocking->try_submit([job] { (*job)(); })) {
      // The claim lapses by itself; the client gets its answer regardless.
      log::warn("mcp idempotency completion dropped: work pool full", {});
      deliver(cs, std::move(response), std::move(body), std::move(outcome), code);
    }
  }

  void deliver(const std::shared_ptr<CallState>& cs, json::object response, std::string body, std::string outcome,
               int code) {
    if (!cs->reply->answer(std::move(response))) return;
    auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - cs->started).count();
    if (!ports_.calls || !cs->record) return;
    ToolCall tc;
    tc.call_id = new_tool_call_id();
    tc.tenant_id = cs->cc.tenant;
    tc.session_id = cs->cc.session_id;
    tc.principal = cs->cc.subject;
    tc.client = cs->cc.client;
    tc.request_id = cs->cc.request_id;
    tc.server = cs->server.name;
    tc.server_tenant = cs->server.tenant;
    tc.tool = cs->cc.tool;
    tc.exposed_name = cs->cc.exposed_name;
    tc.outcome = std::move(outcome);
    tc.error_code = code;
    tc.latency_ms = latency;
    tc.redactions = cs->facts.redactions;
    tc.guardrail_hit = cs->facts.guardrail_hit;
    tc.created_at = cs->created_at;
    tc.arguments = cs->arguments_text;
    tc.result = std::move(body);
    try {
      ports_.calls->record(std::move(tc));
    } catch (const std::exception& e) {
      log::warn("mcp tool call record failed", {{"error", e.what()}});
    }
  }

  // ---- prompts/get, resources/read, completion/complete, logging/setLevel

  // prompts/get, resources/read, completion/complete: routed to one server, and the answer passes
  // the response interceptors like a tool's (resource contents and prompt text are redacted
  // too); not recorded as tool calls.
  void forward(const CtxPtr& ctx, std::shared_ptr<Reply> reply, const ServerEntry& s, std::string method,
               json::object params) {
    auto cs = std::make_shared<CallState>();
    cs->ctx = ctx;
    cs->reply = reply;
    cs->server = s;
    cs->record = false;
    fill_context(cs, method, method);
    auto self = shared_from_this();
    call_server(ctx, s, std::move(method), std::move(params), timeout_for(s), relay_to(ctx, s, ctx->out),
                [self, cs](UpstreamResult r) {
                  try {
                    if (!r.response) {
                      self->health(cs->server, false, r.error);
                      return self->fail(cs, -32603, r.error == "too_large" ? "Upstream result too large" : "Upstream failure",
                                        "failed", r.error);
                    }
                    self->run_response_chain(cs, std::move(*r.response));
                  } catch (const std::exception& e) {
                    self->fail(cs, -32603, "Internal error", "failed", e.what());
                  }
                });
  }

  void get_prompt(const CtxPtr& ctx, std::shared_ptr<Reply> reply, json::object params) {
    const auto* name = str_field(params, "name");
    if (!name) return void(reply->error(-32602, "Invalid params: name"));
    std::string exposed(*name);
    auto self = shared_from_this();
    resolve(ctx, kPrompts, exposed, [self, ctx, reply, params, exposed](std::optional<Resolved> r) mutable {
      if (!r) return void(reply->error(-32602, "Unknown prompt: " + exposed));
      params["name"] = r->item.at("name");
      self->forward(ctx, reply, r->server, "prompts/get", std::move(params));
    });
  }

  // The server that offers `uri` (listed resource, or a template whose fixed prefix matches).
  void owner_of_uri(const CtxPtr& ctx, std::string uri, std::function<void(std::optional<ServerEntry>)> done) {
    auto self = shared_from_this();
    auto servers = allowed_servers(*ctx);
    gather(ctx, kResources, servers, true, [self, ctx, uri, servers, done](std::vector<ServerItems> parts) {
      for (const auto& p : parts)
        for (const auto& it : p.items)
          if (const auto* u = str_field(it, "uri"); u && *u == uri) return done(p.server);
      self->gather(ctx, kTemplates, servers, true, [uri, done](std::vector<ServerItems> tparts) {
        for (const auto& p : tparts)
          for (const auto& it : p.items)
            if (const auto* t = str_field(it, "uriTemplate")) {
              std::string_view tv(*t);
              auto brace = tv.find('{');
              auto prefix = tv.substr(0, brace);
              if ((brace == std::string_view::npos && tv == uri) ||
                  (brace != std::string_view::npos && !prefix.empty() && uri.compare(0, prefix.size(), prefix) == 0))
                return done(p.server);
            }
        done(std::nullopt);
      });
    });
  }

  void read_resource(const CtxPtr& ctx, std::shared_ptr<Reply> reply, json::object params) {
    const auto* uri = str_field(params, "uri");
    if (!uri) return void(reply->error(-32602, "Invalid params: uri"));
    auto self = shared_from_this();
    std::string u(*uri);
    owner_of_uri(ctx, u, [self, ctx, reply, params, u](std::optional<ServerEntry> s) mutable {
      // -32002: "Resource not found" (MCP resources); refused and absent alike.
      if (!s) return void(reply->error(-32002, "Resource not found"));
      self->forward(ctx, reply, *s, "resources/read", std::move(params));
    });
  }

  // resources/subscribe, resources/unsubscribe: routed like resources/read (what the client cannot
  // read it cannot watch either). A server that did not declare resources.subscribe is not asked:
  // the client gets "Method not found" as it would from that server.
  void subscribe_resource(const CtxPtr& ctx, std::shared_ptr<Reply> reply, std::string method, json::object params) {
    const auto* uri = str_field(params, "uri");
    if (!uri) return void(reply->error(-32602, "Invalid params: uri"));
    auto self = shared_from_this();
    owner_of_uri(ctx, std::string(*uri), [self, ctx, reply, method, params](std::optional<ServerEntry> s) mutable {
      if (!s) return void(reply->error(-32002, "Resource not found"));
      self->with_upstream(ctx, *s, self->list_timeout(), false,
                          [self, ctx, reply, method, params, s](std::optional<UpstreamSession> up, std::string) mutable {
                            if (!up) return void(reply->error(-32603, "Upstream failure"));
                            const auto* caps = obj_field(up->capabilities, "resources");
                            const auto* sub = caps ? caps->if_contains("subscribe") : nullptr;
                            if (!sub || !sub->is_bool() || !sub->get_bool())
                              return void(reply->error(-32601, "Method not found"));
                            self->forward(ctx, reply, *s, std::move(method), std::move(params));
                          });
    });
  }

  void complete(const CtxPtr& ctx, std::shared_ptr<Reply> reply, json::object params) {
    const auto* ref = obj_field(params, "ref");
    const auto* type = ref ? str_field(*ref, "type") : nullptr;
    if (!type) return void(reply->error(-32602, "Invalid params: ref"));
    auto self = shared_from_this();
    if (*type == "ref/prompt") {
      const auto* name = str_field(*ref, "name");
      if (!name) return void(reply->error(-32602, "Invalid params: ref"));
      std::string exposed(*name);
      return resolve(ctx, kPrompts, exposed, [self, ctx, reply, params, exposed](std::optional<Resolved> r) mutable {
        if (!r) return void(reply->error(-32602, "Unknown prompt: " + exposed));
        params["ref"].as_object()["name"] = r->item.at("name");
        self->forward(ctx, reply, r->server, "completion/complete", std::move(params));
      });
    }
    if (*type == "ref/resource") {
      const auto* uri = str_field(*ref, "uri");
      if (!uri) return void(reply->error(-32602, "Invalid params: ref"));
      return owner_of_uri(ctx, std::string(*uri), [self, ctx, reply, params](std::optional<ServerEntry> s) mutable {
        if (!s) return void(reply->error(-32602, "Unknown resource"));
        self->forward(ctx, reply, *s, "completion/complete", std::move(params));
      });
    }
    reply->error(-32602, "Invalid params: ref");
  }

  void set_level(const CtxPtr& ctx, std::shared_ptr<Reply> reply, json::object params) {
    if (!str_field(params, "level")) return void(reply->error(-32602, "Invalid params: level"));
    // Every server that offers logging gets the level; the client gets its answer at once (a
    // server that fails here only misses the level).
    auto self = shared_from_this();
    for (const auto& s : allowed_servers(*ctx)) {
      with_upstream(ctx, s, list_timeout(), false, [self, ctx, s, params](std::optional<UpstreamSession> up, std::string) {
        if (!up || !up->capabilities.contains("logging")) return;
        self->call_server(ctx, s, "logging/setLevel", params, self->list_timeout(), nullptr, [](UpstreamResult) {});
      });
    }
    reply->result({});
  }

  FederationPorts ports_;
  FederationOptions options_;
  ToolRules rules_;
  UpstreamClient client_;
  CursorCodec cursors_;
  const std::string node_;
  std::atomic<std::uint64_t> seq_{0};
  std::uint64_t sweep_ = 0;  // under mu_
  mutable std::mutex mu_;
  std::unordered_map<std::string, SessionData> sessions_;
};

}  // namespace

std::shared_ptr<Federation> make_federation(FederationPorts ports, FederationOptions options) {
  return std::make_shared<FederationImpl>(std::move(ports), std::move(options));
}

}  // namespace pc::mcp
