#include "a2a/protocol.h"

#include <array>
#include <utility>

#include "mcp/jsonrpc.h"
#include "net/router.h"

namespace pc::a2a {
namespace {

namespace json = boost::json;
namespace jr = mcp::jsonrpc;

// The JSON-RPC method names of each version (A2A 1.0 §9.4; 0.3 §7). The SDK also accepts the
// singular 1.0 spelling ListTaskPushNotificationConfig (its 0.3 gRPC name), so do we.
struct MethodName {
  std::string_view name;
  Kind kind;
};
constexpr std::array<MethodName, 12> kMethods10{{
    {"SendMessage", Kind::send},
    {"SendStreamingMessage", Kind::stream},
    {"GetTask", Kind::get_task},
    {"ListTasks", Kind::list_tasks},
    {"CancelTask", Kind::cancel_task},
    {"SubscribeToTask", Kind::subscribe},
    {"CreateTaskPushNotificationConfig", Kind::push_set},
    {"GetTaskPushNotificationConfig", Kind::push_get},
    {"ListTaskPushNotificationConfigs", Kind::push_list},
    {"ListTaskPushNotificationConfig", Kind::push_list},
    {"DeleteTaskPushNotificationConfig", Kind::push_delete},
    {"GetExtendedAgentCard", Kind::extended_card},
}};
constexpr std::array<MethodName, 10> kMethods03{{
    {"message/send", Kind::send},
    {"message/stream", Kind::stream},
    {"tasks/get", Kind::get_task},
    {"tasks/cancel", Kind::cancel_task},
    {"tasks/resubscribe", Kind::subscribe},
    {"tasks/pushNotificationConfig/set", Kind::push_set},
    {"tasks/pushNotificationConfig/get", Kind::push_get},
    {"tasks/pushNotificationConfig/list", Kind::push_list},
    {"tasks/pushNotificationConfig/delete", Kind::push_delete},
    {"agent/getAuthenticatedExtendedCard", Kind::extended_card},
}};

template <std::size_t N>
std::optional<Kind> lookup(const std::array<MethodName, N>& table, std::string_view method) {
  for (const auto& m : table)
    if (m.name == method) return m.kind;
  return std::nullopt;
}

ProtocolError invalid_params(std::string message) { return {kInvalidParams, std::move(message), 400}; }

// A member that must be a string when present. nullopt: absent (or null); error: not a string.
// The ids are bounded: they go into store keys and logs.
constexpr std::size_t kMaxIdBytes = 256;
std::variant<std::string, ProtocolError> string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::string{};
  if (!v->is_string()) return invalid_params("Invalid params: " + std::string(key) + " must be a string");
  if (v->get_string().size() > kMaxIdBytes)
    return invalid_params("Invalid params: " + std::string(key) + " is too long");
  return std::string(v->get_string());
}

// Reads the ids the operation names from `params` (either binding; REST path ids are set before).
std::optional<ProtocolError> read_ids(Operation& op) {
  if (!op.params.is_object()) return invalid_params("Invalid params: params must be an object");
  const json::object& p = op.params.get_object();
  auto take = [&](const json::object& o, std::string_view key, std::string& out) -> std::optional<ProtocolError> {
    auto r = string_member(o, key);
    if (auto* e = std::get_if<ProtocolError>(&r)) return *e;
    if (out.empty()) out = std::move(std::get<std::string>(r));
    return std::nullopt;
  };
  switch (op.kind) {
    case Kind::send:
    case Kind::stream: {
      const json::value* m = p.if_contains("message");
      if (!m || !m->is_object()) return invalid_params("Invalid params: message is required");
      if (auto e = take(m->get_object(), "taskId", op.task_id)) return e;
      if (auto e = take(m->get_object(), "contextId", op.context_id)) return e;
      return std::nullopt;
    }
    case Kind::list_tasks:
      return take(p, "contextId", op.context_id);
    case Kind::get_task:
    case Kind::cancel_task:
    case Kind::subscribe:
      if (auto e = take(p, "id", op.task_id)) return e;
      break;
    case Kind::push_set:
      // 1.0: a flat TaskPushNotificationConfig {taskId, id?, url, …}; 0.3: {taskId, pushNotificationConfig}.
      if (auto e = take(p, "taskId", op.task_id)) return e;
      if (op.version == Version::v0_3) {
        const json::value* c = p.if_contains("pushNotificationConfig");
        if (!c || !c->is_object()) return invalid_params("Invalid params: pushNotificationConfig is required");
        if (auto e = take(c->get_object(), "id", op.push_config_id)) return e;
      } else if (auto e = take(p, "id", op.push_config_id)) {
        return e;
      }
      break;
    case Kind::push_get:
    case Kind::push_list:
    case Kind::push_delete:
      if (op.version == Version::v1_0) {
        if (auto e = take(p, "taskId", op.task_id)) return e;
        if (op.kind != Kind::push_list)
          if (auto e = take(p, "id", op.push_config_id)) return e;
      } else {
        if (auto e = take(p, "id", op.task_id)) return e;
        if (op.kind != Kind::push_list)
          if (auto e = take(p, "pushNotificationConfigId", op.push_config_id)) return e;
      }
      if (op.kind == Kind::push_delete && op.push_config_id.empty())
        return invalid_params("Invalid params: the push notification config id is required");
      break;
    case Kind::extended_card:
      return std::nullopt;
  }
  if (op.task_id.empty()) return invalid_params("Invalid params: the task id is required");
  return std::nullopt;
}

}  // namespace

std::string_view version_name(Version v) { return v == Version::v0_3 ? "0.3" : "1.0"; }

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::send: return "send";
    case Kind::stream: return "stream";
    case Kind::get_task: return "get_task";
    case Kind::list_tasks: return "list_tasks";
    case Kind::cancel_task: return "cancel_task";
    case Kind::subscribe: return "subscribe";
    case Kind::push_set: return "push_set";
    case Kind::push_get: return "push_get";
    case Kind::push_list: return "push_list";
    case Kind::push_delete: return "push_delete";
    case Kind::extended_card: return "extended_card";
  }
  return "unknown";
}

bool is_streaming(Kind k) { return k == Kind::stream || k == Kind::subscribe; }

std::optional<Version> negotiate_version(const std::string* header) {
  if (!header) return Version::v0_3;
  std::string_view v = *header;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return Version::v0_3;  // the SDK treats an empty value as absent
  // major[.minor[.patch]]: the patch never changes the wire (A2A 1.0 §3.6 versioning).
  auto starts = [&](std::string_view mm) {
    if (!v.starts_with(mm)) return false;
    std::string_view rest = v.substr(mm.size());
    if (rest.empty()) return true;
    if (rest.front() != '.' || rest.size() < 2) return false;
    for (char c : rest.substr(1))
      if (c < '0' || c > '9') return false;
    return true;
  };
  if (v == "1" || starts("1.0")) return Version::v1_0;
  if (starts("0.3")) return Version::v0_3;
  return std::nullopt;
}

std::variant<Operation, ProtocolError> parse_jsonrpc(std::string_view body, const std::string* a2a_version) {
  auto version = negotiate_version(a2a_version);
  jr::ParseResult r = jr::parse(body);
  if (!r.ok()) {
    ProtocolError e{r.failure.code, r.failure.message, 400};
    e.rpc_id = std::move(r.failure.id);
    return e;
  }
  jr::Message& m = *r.message;
  if (m.kind != jr::Kind::request) {
    // A2A has no notifications and the client never answers the server.
    ProtocolError e{kInvalidRequest, "Invalid request: an A2A JSON-RPC request needs an id and a method", 400};
    e.rpc_id = std::move(m.id);
    return e;
  }
  if (!version) {
    ProtocolError e{kVersionNotSupported, "Version not supported: A2A-Version must be 0.3 or 1.0", 400};
    e.rpc_id = std::move(m.id);
    return e;
  }
  auto kind = *version == Version::v1_0 ? lookup(kMethods10, m.method) : lookup(kMethods03, m.method);
  if (!kind) {
    ProtocolError e{kMethodNotFound, "Method not found", 404};
    e.rpc_id = std::move(m.id);
    return e;
  }
  Operation op;
  op.version = *version;
  op.binding = Binding::jsonrpc;
  op.kind = *kind;
  op.method = std::move(m.method);
  op.rpc_id = std::move(m.id);
  op.params = std::move(m.params);
  if (auto e = read_ids(op)) {
    e->rpc_id = op.rpc_id;
    return *e;
  }
  return op;
}

namespace {

// One REST path after /a2a/{agent}, split into decoded segments; nullopt on a malformed escape.
std::optional<std::vector<std::string>> segments_of(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path.front() != '/') return std::nullopt;
  path.remove_prefix(1);
  while (true) {
    const std::size_t slash = path.find('/');
    std::string seg;
    if (!net::decode_segment(path.substr(0, slash), seg)) return std::nullopt;
    out.push_back(std::move(seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// The query as a JSON object of strings (GetTask historyLength, ListTasks filters); the runtime
// gets the original query, this is only for reading ids.
json::object query_object(std::string_view query) {
  json::object o;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = item.find('=');
    std::string key, value;
    if (!net::decode_segment(item.substr(0, eq), key)) continue;
    if (eq != std::string_view::npos && !net::decode_segment(item.substr(eq + 1), value)) continue;
    if (key.size() <= kMaxIdBytes && value.size() <= kMaxIdBytes && !o.contains(key)) o[key] = value;
  }
  return o;
}

// "abc:cancel" → ("abc", "cancel"); the id itself never holds ':' in the REST binding's paths
// (A2A 1.0 §11.3 custom methods).
std::pair<std::string, std::string> split_verb(const std::string& seg) {
  const std::size_t colon = seg.rfind(':');
  if (colon == std::string::npos) return {seg, ""};
  return {seg.substr(0, colon), seg.substr(colon + 1)};
}

// The send kind of the one segment after the (optional) version prefix: "message:send" or
// "message:stream" (decoded).
std::optional<Kind> send_verb(const std::string& seg) {
  if (seg == "message:send") return Kind::send;
  if (seg == "message:stream") return Kind::stream;
  return std::nullopt;
}

}  // namespace

std::string_view rest_path_of(std::string_view p) {
  if (!p.starts_with("/a2a/")) return {};
  p.remove_prefix(5);
  const std::size_t slash = p.find('/');
  return slash == std::string_view::npos ? std::string_view{} : p.substr(slash);
}

std::optional<Kind> rest_send_kind(std::string_view method, std::string_view rest_path) {
  if (method != "POST") return std::nullopt;
  auto segs = segments_of(rest_path);
  if (!segs) return std::nullopt;
  const std::size_t at = !segs->empty() && (*segs)[0] == "v1" ? 1 : 0;
  if (segs->size() != at + 1) return std::nullopt;
  return send_verb((*segs)[at]);
}

std::variant<Operation, ProtocolError> parse_rest(std::string_view method, std::string_view rest_path,
                                                  std::string_view query, std::string_view body,
                                                  const std::string* a2a_version) {
  const ProtocolError not_found{kMethodNotFound, "Not found: no such A2A operation", 404};
  auto segs = segments_of(rest_path);
  if (!segs) return ProtocolError{kInvalidRequest, "Bad request: malformed path", 400};
  Operation op;
  op.binding = Binding::rest;
  op.method = std::string(method) + " " + std::string(rest_path);
  std::vector<std::string>& s = *segs;
  // The 0.3 REST layout lives under /v1; 1.0 drops the prefix (and may carry a tenant prefix,
  // which the gateway does not offer: its cards name no tenant).
  std::size_t at = 0;
  if (!s.empty() && s[0] == "v1") {
    op.version = Version::v0_3;
    at = 1;
  } else {
    op.version = Version::v1_0;
  }
  auto header_version = negotiate_version(a2a_version);
  if (a2a_version && !header_version)
    return ProtocolError{kVersionNotSupported, "Version not supported: A2A-Version must be 0.3 or 1.0", 400};
  const std::size_t n = s.size() - at;
  auto seg = [&](std::size_t i) -> const std::string& { return s[at + i]; };
  const bool get = method == "GET", post = method == "POST", del = method == "DELETE";
  bool wants_body = false;
  if (auto send = n == 1 && post ? send_verb(seg(0)) : std::nullopt) {
    op.kind = *send, wants_body = true;
  } else if (n == 1 && get && seg(0) == "tasks" && op.version == Version::v1_0) {
    op.kind = Kind::list_tasks;
  } else if (n == 1 && get &&
             ((op.version == Version::v1_0 && seg(0) == "extendedAgentCard") ||
              (op.version == Version::v0_3 && seg(0) == "card"))) {
    op.kind = Kind::extended_card;
  } else if (n == 2 && seg(0) == "tasks") {
    auto [id, verb] = split_verb(seg(1));
    op.task_id = id;
    if (verb.empty() && get) op.kind = Kind::get_task;
    else if (verb == "cancel" && post) op.kind = Kind::cancel_task;
    else if (verb == "subscribe" && (post || get)) op.kind = Kind::subscribe;
    else return not_found;
  } else if ((n == 3 || n == 4) && seg(0) == "tasks" && seg(2) == "pushNotificationConfigs") {
    op.task_id = seg(1);
    if (n == 3 && post) op.kind = Kind::push_set, wants_body = true;
    else if (n == 3 && get) op.kind = Kind::push_list;
    else if (n == 4 && get) op.kind = Kind::push_get, op.push_config_id = seg(3);
    else if (n == 4 && del) op.kind = Kind::push_delete, op.push_config_id = seg(3);
    else return not_found;
  } else {
    return not_found;
  }
  if (op.task_id.size() > kMaxIdBytes || op.push_config_id.size() > kMaxIdBytes)
    return invalid_params("Invalid params: id too long");
  if (wants_body) {
    std::string why;
    auto v = jr::parse_bounded(body, jr::Limits{}, why);
    if (!v) return ProtocolError{kParseError, "Parse error: " + why, 400};
    if (!v->is_object()) return invalid_params("Invalid params: the body must be a JSON object");
    op.params = std::move(*v);
  } else {
    op.params = query_object(query);
  }
  // Ids from the body must agree with the path (a body naming another task must not slip by
  // the check made on the path's id).
  json::object& p = op.params.get_object();
  if (op.kind == Kind::push_set) {
    const std::string path_task = op.task_id;
    op.task_id.clear();
    if (op.version == Version::v0_3) {
      // 0.3: {name: "tasks/{id}/pushNotificationConfigs/{cid}", pushNotificationConfig}: the id is the path's.
      const json::value* c = p.if_contains("pushNotificationConfig");
      if (!c || !c->is_object()) return invalid_params("Invalid params: pushNotificationConfig is required");
      auto r = string_member(c->get_object(), "id");
      if (auto* e = std::get_if<ProtocolError>(&r)) return *e;
      op.push_config_id = std::get<std::string>(r);
      op.task_id = path_task;
      return op;
    }
    auto r = string_member(p, "taskId");
    if (auto* e = std::get_if<ProtocolError>(&r)) return *e;
    if (!std::get<std::string>(r).empty() && std::get<std::string>(r) != path_task)
      return invalid_params("Invalid params: taskId differs from the path's task");
    auto cid = string_member(p, "id");
    if (auto* e = std::get_if<ProtocolError>(&cid)) return *e;
    op.push_config_id = std::get<std::string>(cid);
    op.task_id = path_task;
    return op;
  }
  if (op.kind == Kind::send || op.kind == Kind::stream || op.kind == Kind::list_tasks) {
    if (auto e = read_ids(op)) return *e;
  }
  if (op.task_id.empty() && op.kind != Kind::send && op.kind != Kind::stream && op.kind != Kind::list_tasks &&
      op.kind != Kind::extended_card)
    return invalid_params("Invalid params: the task id is required");
  return op;
}

}  // namespace pc::a2a
