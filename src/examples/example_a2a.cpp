#include "examples/example_a2a.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "core/clock.h"
#include "core/json_text.h"
#include "crypto/random.h"

namespace pc::examples {
namespace {

namespace json = boost::json;

// JSON-RPC 2.0 and A2A error codes (A2A 1.0 §9.5 / 0.3 §8.2: the same numbers in both).
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kTaskNotFound = -32001;
constexpr int kTaskNotCancelable = -32002;
constexpr int kPushNotSupported = -32003;
constexpr int kUnsupportedOperation = -32004;
constexpr int kExtendedCardNotConfigured = -32007;
constexpr int kVersionNotSupported = -32009;

constexpr std::string_view kSubmitted = "TASK_STATE_SUBMITTED";
constexpr std::string_view kWorking = "TASK_STATE_WORKING";
constexpr std::string_view kCompleted = "TASK_STATE_COMPLETED";
constexpr std::string_view kCanceled = "TASK_STATE_CANCELED";
constexpr std::string_view kFailed = "TASK_STATE_FAILED";

// An A2A error as a thrown value, so the method handlers read straight.
struct RpcError {
  int code;
  std::string message;
};

std::string text_of(const json::value& v) { return core::json_text(v); }

json::object rpc_result(const json::value& id, json::value result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json::object rpc_error(const json::value& id, int code, std::string_view message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

bool terminal(std::string_view state) {
  return state == kCompleted || state == kCanceled || state == kFailed || state == "TASK_STATE_REJECTED";
}

std::string state_of(const json::object& task) {
  const json::value* s = task.if_contains("status");
  const json::value* st = s && s->is_object() ? s->as_object().if_contains("state") : nullptr;
  return st && st->is_string() ? std::string(st->as_string()) : std::string();
}

json::object status(std::string_view state) { return {{"state", state}, {"timestamp", core::rfc3339_now()}}; }

const json::string* str_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? v->if_string() : nullptr;
}

// ---- 1.0 → 0.3 shapes (a2a.proto JSON vs the 0.3 JSON schema)

std::string legacy_state(std::string_view s) {
  if (!s.starts_with("TASK_STATE_")) return "unknown";
  std::string out(s.substr(11));
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return c == '_' ? '-' : std::tolower(c); });
  return out == "unspecified" ? "unknown" : out;  // input-required, auth-required keep their dash
}

json::array legacy_parts(const json::value* parts) {
  json::array out;
  if (!parts || !parts->is_array()) return out;
  for (const auto& p : parts->as_array()) {
    if (!p.is_object()) continue;
    json::object q = p.as_object();
    if (q.contains("text")) {
      q["kind"] = "text";
    } else if (q.contains("data")) {
      q["kind"] = "data";
    }
    out.push_back(std::move(q));
  }
  return out;
}

json::object legacy_message(const json::object& m) {
  json::object out = m;
  out["kind"] = "message";
  if (const json::string* r = str_member(m, "role")) out["role"] = *r == "ROLE_AGENT" ? "agent" : "user";
  out["parts"] = legacy_parts(m.if_contains("parts"));
  return out;
}

json::object legacy_status(const json::value* s) {
  json::object out = s && s->is_object() ? s->as_object() : json::object{};
  if (const json::string* st = str_member(out, "state")) out["state"] = legacy_state(*st);
  if (const json::value* m = out.if_contains("message"); m && m->is_object()) out["message"] = legacy_message(m->as_object());
  return out;
}

json::object legacy_artifact(const json::object& a) {
  json::object out = a;
  out["parts"] = legacy_parts(a.if_contains("parts"));
  return out;
}

// The 0.3 form of one 1.0 stream/send result ({"task"}, {"message"}, {"statusUpdate"},
// {"artifactUpdate"}): the object itself with its `kind`.
json::object legacy_result(const json::object& r) {
  if (const json::value* t = r.if_contains("task"); t && t->is_object()) return a2a_task_to_v03(t->as_object());
  if (const json::value* m = r.if_contains("message"); m && m->is_object()) return legacy_message(m->as_object());
  if (const json::value* s = r.if_contains("statusUpdate"); s && s->is_object()) {
    json::object out = s->as_object();
    out["kind"] = "status-update";
    out["status"] = legacy_status(out.if_contains("status"));
    out["final"] = terminal(state_of(s->as_object()));
    return out;
  }
  if (const json::value* a = r.if_contains("artifactUpdate"); a && a->is_object()) {
    json::object out = a->as_object();
    out["kind"] = "artifact-update";
    if (const json::value* art = out.if_contains("artifact"); art && art->is_object())
      out["artifact"] = legacy_artifact(art->as_object());
    return out;
  }
  return r;
}

// ---- reading a message (both versions: 1.0 parts are {text}|{data}|…, 0.3 parts add `kind`)

struct Incoming {
  json::object message;  // normalised to the 1.0 shape, for the task's history
  std::string text;      // what is echoed
  std::string task_id, context_id;
  bool hold = false;
  std::int64_t interval_ms = 20;
};

Incoming read_message(const json::object& params) {
  const json::value* mv = params.if_contains("message");
  if (!mv || !mv->is_object()) throw RpcError{kInvalidParams, "params.message must be an object"};
  const json::object& m = mv->as_object();
  const json::string* message_id = str_member(m, "messageId");
  if (!message_id || message_id->empty()) throw RpcError{kInvalidParams, "params.message.messageId is required"};
  const json::value* pv = m.if_contains("parts");
  if (!pv || !pv->is_array() || pv->as_array().empty())
    throw RpcError{kInvalidParams, "params.message.parts must be a non-empty array"};
  Incoming in;
  json::array parts;
  for (const auto& p : pv->as_array()) {
    const json::object* po = p.if_object();
    if (!po) throw RpcError{kInvalidParams, "each part must be an object"};
    if (!in.text.empty()) in.text += "\n";
    if (const json::string* t = str_member(*po, "text")) {
      in.text += std::string(*t);
      parts.push_back(json::object{{"text", *t}});
    } else if (const json::value* d = po->if_contains("data")) {
      in.text += text_of(*d);
      parts.push_back(json::object{{"data", *d}});
    } else {
      throw RpcError{kInvalidParams, "this agent echoes text and data parts only"};
    }
  }
  if (const json::string* t = str_member(m, "taskId")) in.task_id = std::string(*t);
  if (const json::string* c = str_member(m, "contextId")) in.context_id = std::string(*c);
  if (const json::value* md = m.if_contains("metadata"); md && md->is_object()) {
    const json::object& meta = md->as_object();
    if (const json::value* h = meta.if_contains("hold")) in.hold = *h == true;
    if (const json::value* iv = meta.if_contains("intervalMs"); iv && iv->is_number()) {
      std::error_code ec;
      auto n = iv->to_number<std::int64_t>(ec);
      if (!ec) in.interval_ms = std::clamp<std::int64_t>(n, 0, 10000);
    }
  }
  in.message = {{"messageId", *message_id}, {"role", "ROLE_USER"}, {"parts", std::move(parts)}};
  if (const json::value* md = m.if_contains("metadata"); md && md->is_object()) in.message["metadata"] = *md;
  return in;
}

// The text as stream chunks: words with the whitespace after them, so the appended chunks are
// the text again; at most kMaxChunks (the last takes the rest).
std::vector<std::string> chunks_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (out.size() + 1 == ExampleA2a::kMaxChunks) {
      out.push_back(text.substr(i));
      break;
    }
    std::size_t j = text.find_first_of(" \n\t", i);
    j = j == std::string::npos ? text.size() : text.find_first_not_of(" \n\t", j);
    if (j == std::string::npos) j = text.size();
    out.push_back(text.substr(i, j - i));
    i = j;
  }
  if (out.empty()) out.emplace_back();
  return out;
}

json::object metadata_of(const std::string& agent, const ExampleA2a::Caller& c) {
  return {{"agent", agent},
          {"identity", c.identity ? json::value(*c.identity) : json::value(nullptr)},
          {"sessionId", c.session_id.empty() ? json::value(nullptr) : json::value(c.session_id)},
          {"a2aVersion", c.a2a_version.empty() ? json::value(nullptr) : json::value(c.a2a_version)},
          {"requestId", c.request_id.empty() ? json::value(nullptr) : json::value(c.request_id)}};
}

json::object with_history_limit(json::object task, const json::object& params) {
  const json::value* hl = params.if_contains("historyLength");
  if (!hl || !hl->is_number()) return task;
  std::error_code ec;
  auto n = hl->to_number<std::int64_t>(ec);
  if (ec || n < 0) throw RpcError{kInvalidParams, "historyLength must be a non-negative integer"};
  if (json::value* h = task.if_contains("history"); h && h->is_array()) {
    json::array& a = h->as_array();
    if (static_cast<std::int64_t>(a.size()) > n) a.erase(a.begin(), a.end() - n);
  }
  return task;
}

std::string task_id_param(const json::object& params) {
  const json::string* id = str_member(params, "id");
  if (!id || id->empty()) throw RpcError{kInvalidParams, "params.id (the task id) is required"};
  return std::string(*id);
}

// Defence in depth behind the gateway's task bindings: a task answers only callers of the tenant
// that created it (both verified identities); another tenant's id is "not found", as at the gateway.
std::string tenant_of(const std::optional<json::object>& identity) {
  if (!identity) return {};
  const json::string* t = str_member(*identity, "tenantid");
  return t ? std::string(*t) : std::string();
}

bool visible_to(const json::object& task, const ExampleA2a::Caller& caller) {
  const json::value* md = task.if_contains("metadata");
  const json::value* id = md && md->is_object() ? md->as_object().if_contains("identity") : nullptr;
  const json::string* owner = id && id->is_object() ? str_member(id->as_object(), "tenantid") : nullptr;
  if (!owner) return true;  // created without a verified identity (no --gateway)
  return tenant_of(caller.identity) == std::string_view(*owner);
}

json::object status_update(const json::object& task) {
  return {{"statusUpdate",
           {{"taskId", task.at("id")}, {"contextId", task.at("contextId")}, {"status", task.at("status")}}}};
}

}  // namespace

json::object a2a_task_to_v03(const json::object& task) {
  json::object out = task;
  out["kind"] = "task";
  out["status"] = legacy_status(task.if_contains("status"));
  if (const json::value* a = task.if_contains("artifacts"); a && a->is_array()) {
    json::array arts;
    for (const auto& x : a->as_array())
      if (x.is_object()) arts.push_back(legacy_artifact(x.as_object()));
    out["artifacts"] = std::move(arts);
  }
  if (const json::value* h = task.if_contains("history"); h && h->is_array()) {
    json::array hist;
    for (const auto& x : h->as_array())
      if (x.is_object()) hist.push_back(legacy_message(x.as_object()));
    out["history"] = std::move(hist);
  }
  return out;
}

ExampleA2a::ExampleA2a(std::string agent_name, std::size_t max_tasks)
    : name_(std::move(agent_name)), max_tasks_(std::max<std::size_t>(1, max_tasks)) {}

namespace {
json::object skill() {
  return {{"id", "echo"},
          {"name", "Echo"},
          {"description", "Answers each message with a completed task whose artifact is the message's text"},
          {"tags", json::array{"echo", "example"}},
          {"examples", json::array{"hello"}}};
}
constexpr std::string_view kDescription =
    "The Portcullis example agent over A2A: echoes each message as a task artifact, or streams it back word by word";
}  // namespace

std::string ExampleA2a::card_v1(std::string_view base_url) const {
  const std::string url = std::string(base_url) + std::string(kJsonRpcPath);
  json::object card{
      {"name", name_},
      {"description", kDescription},
      {"supportedInterfaces",
       json::array{json::object{{"url", url}, {"protocolBinding", "JSONRPC"}, {"protocolVersion", "1.0"}},
                   json::object{{"url", url}, {"protocolBinding", "JSONRPC"}, {"protocolVersion", "0.3"}}}},
      {"provider", {{"organization", "Portcullis examples"}, {"url", "https://github.com/portcullis"}}},
      {"version", PORTCULLIS_VERSION},
      {"capabilities", {{"streaming", true}, {"pushNotifications", false}, {"extendedAgentCard", false}}},
      {"defaultInputModes", json::array{"text/plain", "application/json"}},
      {"defaultOutputModes", json::array{"text/plain"}},
      {"skills", json::array{skill()}}};
  return text_of(card);
}

std::string ExampleA2a::card_v03(std::string_view base_url) const {
  const std::string url = std::string(base_url) + std::string(kJsonRpcPath);
  json::object card{{"protocolVersion", "0.3.0"},
                    {"name", name_},
                    {"description", kDescription},
                    {"url", url},
                    {"preferredTransport", "JSONRPC"},
                    {"additionalInterfaces", json::array{json::object{{"url", url}, {"transport", "JSONRPC"}}}},
                    {"provider", {{"organization", "Portcullis examples"}, {"url", "https://github.com/portcullis"}}},
                    {"version", PORTCULLIS_VERSION},
                    {"capabilities", {{"streaming", true}, {"pushNotifications", false}}},
                    {"defaultInputModes", json::array{"text/plain", "application/json"}},
                    {"defaultOutputModes", json::array{"text/plain"}},
                    {"skills", json::array{skill()}},
                    {"supportsAuthenticatedExtendedCard", false}};
  return text_of(card);
}

void ExampleA2a::put(json::object task) {
  std::string id(task.at("id").as_string());
  auto [it, fresh] = tasks_.try_emplace(id);
  it->second.task = std::move(task);
  if (!fresh) return;
  order_.push_back(id);
  while (tasks_.size() > max_tasks_ && !order_.empty()) {
    tasks_.erase(order_.front());
    order_.pop_front();
  }
  // Ids whose task was replaced are not in order_ twice (fresh only); ids evicted are gone from
  // both. order_ can still hold ids nobody stores once max_tasks_ shrinks — it never does.
}

json::object* ExampleA2a::find(const std::string& task_id) {
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : &it->second.task;
}

std::size_t ExampleA2a::task_count() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

ExampleA2a::Reply ExampleA2a::handle(std::string_view body, const Caller& caller) {
  Reply reply;
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    reply.body = text_of(rpc_error(nullptr, kParseError, "the body is not JSON"));
    return reply;
  }
  const json::object* o = v.if_object();
  json::value id = nullptr;
  if (o)
    if (const json::value* i = o->if_contains("id"); i && (i->is_string() || i->is_int64() || i->is_uint64())) id = *i;
  const json::string* method = o ? str_member(*o, "method") : nullptr;
  const json::value* jsonrpc = o ? o->if_contains("jsonrpc") : nullptr;
  if (!o || !jsonrpc || *jsonrpc != "2.0" || !method || id.is_null()) {
    reply.body = text_of(rpc_error(id, kInvalidRequest, "expected a JSON-RPC 2.0 request with a method and an id"));
    return reply;
  }
  static const json::object kNoParams;
  const json::value* pv = o->if_contains("params");
  if (pv && !pv->is_object()) {
    reply.body = text_of(rpc_error(id, kInvalidParams, "params must be an object"));
    return reply;
  }
  const std::string& ver = caller.a2a_version;
  if (!ver.empty() && ver != "0.3" && ver != "1.0" && ver != "1" && ver != "0.3.0" && ver != "1.0.0") {
    reply.body = text_of(rpc_error(id, kVersionNotSupported, "A2A-Version " + ver + " is not supported (0.3, 1.0)"));
    return reply;
  }
  try {
    json::value result = dispatch(std::string(*method), pv ? pv->as_object() : kNoParams, id, caller, reply);
    if (!reply.stream) reply.body = text_of(rpc_result(id, std::move(result)));
  } catch (const RpcError& e) {
    reply.stream = false;
    reply.events.clear();
    reply.body = text_of(rpc_error(id, e.code, e.message));
  }
  return reply;
}

json::value ExampleA2a::dispatch(const std::string& method, const json::object& params, const json::value& id,
                                 const Caller& caller, Reply& reply) {
  const bool legacy = method.find('/') != std::string::npos;  // 0.3 names have a slash, 1.0 ones none
  reply.legacy = legacy;
  reply.rpc_id = id;
  auto shape = [legacy](const json::object& result) -> json::value {
    return legacy ? json::value(legacy_result(result)) : json::value(result);
  };

  if (method == "GetTask" || method == "tasks/get") {
    std::string tid = task_id_param(params);
    std::lock_guard lock(mu_);
    json::object* t = find(tid);
    if (!t || !visible_to(*t, caller)) throw RpcError{kTaskNotFound, "task not found"};
    json::object out = with_history_limit(*t, params);
    return legacy ? json::value(a2a_task_to_v03(out)) : json::value(std::move(out));
  }
  if (method == "CancelTask" || method == "tasks/cancel") {
    std::string tid = task_id_param(params);
    std::lock_guard lock(mu_);
    json::object* t = find(tid);
    if (!t || !visible_to(*t, caller)) throw RpcError{kTaskNotFound, "task not found"};
    if (terminal(state_of(*t))) throw RpcError{kTaskNotCancelable, "the task is " + state_of(*t) + ": it cannot be canceled"};
    (*t)["status"] = status(kCanceled);
    return legacy ? json::value(a2a_task_to_v03(*t)) : json::value(*t);
  }
  const bool send = method == "SendMessage" || method == "message/send";
  const bool stream = method == "SendStreamingMessage" || method == "message/stream";
  if (!send && !stream) {
    if (method.find("ushNotificationConfig") != std::string::npos)
      throw RpcError{kPushNotSupported, "this agent does not send push notifications"};
    if (method == "GetExtendedAgentCard" || method == "agent/getAuthenticatedExtendedCard")
      throw RpcError{kExtendedCardNotConfigured, "this agent has no extended card"};
    if (method == "SubscribeToTask" || method == "tasks/resubscribe" || method == "ListTasks")
      throw RpcError{kUnsupportedOperation, method + " is not supported by the example agent"};
    throw RpcError{kMethodNotFound, "method not found: " + method};
  }

  Incoming in = read_message(params);
  std::lock_guard lock(mu_);
  json::object task;
  if (!in.task_id.empty()) {
    // A next message for a task: only a held (working) task takes one; it completes with this echo.
    json::object* t = find(in.task_id);
    if (!t || !visible_to(*t, caller)) throw RpcError{kTaskNotFound, "task not found"};
    if (terminal(state_of(*t)))
      throw RpcError{kUnsupportedOperation, "the task is " + state_of(*t) + ": it takes no more messages"};
    if (!in.context_id.empty() && in.context_id != std::string(t->at("contextId").as_string()))
      throw RpcError{kInvalidParams, "contextId does not match the task's"};
    task = *t;
  } else {
    task = {{"id", crypto::uuid_v4()},
            {"contextId", in.context_id.empty() ? crypto::uuid_v4() : in.context_id},
            {"status", status(kSubmitted)},
            {"history", json::array{}},
            {"metadata", metadata_of(name_, caller)}};
  }
  in.message["taskId"] = task.at("id");
  in.message["contextId"] = task.at("contextId");
  task["history"].as_array().push_back(in.message);
  const bool continued = !in.task_id.empty();

  if (send) {
    if (in.hold && !continued) {
      task["status"] = status(kWorking);
    } else {
      task["artifacts"] = json::array{json::object{
          {"artifactId", crypto::uuid_v4()}, {"name", "echo"}, {"parts", json::array{json::object{{"text", in.text}}}}}};
      task["status"] = status(kCompleted);
    }
    put(task);
    return shape(json::object{{"task", task}});
  }

  // A stream: planned now, paced by the writer (emit). The task is stored at once, so GetTask and
  // CancelTask find it while the stream runs.
  reply.stream = true;
  reply.task_id = std::string(task.at("id").as_string());
  reply.interval = std::chrono::milliseconds(in.interval_ms);
  reply.hold = in.hold && !continued;
  if (!continued) put(task);  // submitted
  const auto gap = std::chrono::milliseconds(in.interval_ms);
  auto add = [&](std::chrono::milliseconds delay, const json::object& snapshot, const json::object& result) {
    reply.events.push_back({delay, snapshot, text_of(rpc_result(id, shape(result)))});
  };
  json::object snap = task;
  add(std::chrono::milliseconds(0), snap, {{"task", snap}});
  snap["status"] = status(kWorking);
  add(gap, snap, status_update(snap));
  if (reply.hold) return nullptr;
  const std::string artifact_id = crypto::uuid_v4();
  const auto pieces = chunks_of(in.text);
  std::string sofar;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    sofar += pieces[i];
    snap["artifacts"] = json::array{json::object{
        {"artifactId", artifact_id}, {"name", "echo"}, {"parts", json::array{json::object{{"text", sofar}}}}}};
    json::object upd{{"taskId", snap.at("id")},
                     {"contextId", snap.at("contextId")},
                     {"artifact", {{"artifactId", artifact_id},
                                   {"name", "echo"},
                                   {"parts", json::array{json::object{{"text", pieces[i]}}}}}},
                     {"append", i > 0},
                     {"lastChunk", i + 1 == pieces.size()}};
    add(gap, snap, {{"artifactUpdate", std::move(upd)}});
  }
  snap["status"] = status(kCompleted);
  add(gap, snap, status_update(snap));
  return nullptr;
}

ExampleA2a::Emit ExampleA2a::emit(const Reply& reply, const StreamEvent& ev) {
  std::lock_guard lock(mu_);
  json::object* t = find(reply.task_id);
  if (t && terminal(state_of(*t))) {
    // Canceled (or failed) while the stream ran: say so and stop.
    json::object upd = status_update(*t);
    json::value result = reply.legacy ? json::value(legacy_result(upd)) : json::value(std::move(upd));
    return {text_of(rpc_result(reply.rpc_id, std::move(result))), true};
  }
  put(ev.task);
  return {ev.data, false};
}

std::optional<std::string> ExampleA2a::poll_held(const Reply& reply) {
  std::lock_guard lock(mu_);
  json::object* t = find(reply.task_id);
  if (t && state_of(*t) == kWorking) return std::nullopt;
  json::object upd = t ? status_update(*t)
                       : json::object{{"statusUpdate",
                                       {{"taskId", reply.task_id}, {"contextId", ""}, {"status", status(kFailed)}}}};
  json::value result = reply.legacy ? json::value(legacy_result(upd)) : json::value(std::move(upd));
  return text_of(rpc_result(reply.rpc_id, std::move(result)));
}

std::string ExampleA2a::give_up(const Reply& reply) {
  {
    std::lock_guard lock(mu_);
    if (json::object* t = find(reply.task_id); t && !terminal(state_of(*t))) (*t)["status"] = status(kFailed);
  }
  auto ev = poll_held(reply);
  return ev ? *ev : std::string();
}

}  // namespace pc::examples
