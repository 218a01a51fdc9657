// The A2A protocol as the gateway sees it (SPEC §5, docs/a2a.md): which version and binding a
// request speaks, and what it asks for, whatever its wire form. The JSON-RPC binding (A2A 1.0
// `SendMessage`… and 0.3 `message/send`…) and the HTTP+JSON (REST) binding (1.0 `/message:send`…,
// 0.3 `/v1/message:send`…) are both read into one `Operation`, so the rules that bind tasks,
// contexts and push configs to a tenant are written once (api/a2a_route.cpp). Owner: "proxy".
// Pure: no I/O, no store.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pc::a2a {

// The protocol versions the gateway speaks with clients and runtimes. A request without
// `A2A-Version` is 0.3 (A2A 1.0 §3: "servers SHOULD assume 0.3 when absent").
enum class Version { v0_3, v1_0 };
std::string_view version_name(Version v);  // "0.3", "1.0"

// How the request reached us; the runtime is called over the same binding when its card offers
// it (else the other one).
enum class Binding { jsonrpc, rest };

enum class Kind {
  send,            // SendMessage, message/send, POST …/message:send
  stream,          // SendStreamingMessage, message/stream, POST …/message:stream (SSE answer)
  get_task,        // GetTask, tasks/get, GET …/tasks/{id}
  list_tasks,      // ListTasks (1.0), GET /tasks
  cancel_task,     // CancelTask, tasks/cancel, POST …/tasks/{id}:cancel
  subscribe,       // SubscribeToTask, tasks/resubscribe, …/tasks/{id}:subscribe (SSE answer)
  push_set,        // CreateTaskPushNotificationConfig, tasks/pushNotificationConfig/set, POST …/pushNotificationConfigs
  push_get,        // GetTaskPushNotificationConfig, tasks/pushNotificationConfig/get
  push_list,       // ListTaskPushNotificationConfigs, tasks/pushNotificationConfig/list
  push_delete,     // DeleteTaskPushNotificationConfig, tasks/pushNotificationConfig/delete
  extended_card,   // GetExtendedAgentCard, agent/getAuthenticatedExtendedCard, GET /extendedAgentCard, GET /v1/card
};
std::string_view kind_name(Kind k);  // for logs, audit and records: "send", "stream", …
bool is_streaming(Kind k);           // stream, subscribe

// One A2A request, read from either binding.
struct Operation {
  Version version = Version::v1_0;
  Binding binding = Binding::jsonrpc;
  Kind kind = Kind::send;
  std::string method;          // as the client named it (JSON-RPC method, or "POST /message:send")
  boost::json::value rpc_id;   // JSON-RPC id (null for REST)
  boost::json::value params;   // JSON-RPC params, or the REST body (object) / query as an object
  std::string task_id;         // the task it names: params id/taskId, message.taskId, REST path
  std::string context_id;      // message.contextId when the client continues a context
  std::string push_config_id;  // push_get, push_delete
};

// A request the gateway refuses before the runtime sees it, in A2A terms; rendered per binding
// by a2a/errors.h.
struct ProtocolError {
  int code = -32600;      // JSON-RPC code (A2A 1.0 §5.4 / §9 error table)
  std::string message;    // safe to send
  int http_status = 400;  // for the REST binding
  boost::json::value rpc_id;  // the request's JSON-RPC id when it could be read (else null)
};

// JSON-RPC error codes: JSON-RPC 2.0's and A2A's own (A2A 1.0 §5.4; the SDK's A2A_ERROR_CODE).
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kTaskNotFound = -32001;
inline constexpr int kTaskNotCancelable = -32002;
inline constexpr int kPushNotSupported = -32003;
inline constexpr int kUnsupportedOperation = -32004;
inline constexpr int kContentTypeNotSupported = -32005;
inline constexpr int kInvalidAgentResponse = -32006;
inline constexpr int kExtendedCardNotConfigured = -32007;
inline constexpr int kExtensionSupportRequired = -32008;
inline constexpr int kVersionNotSupported = -32009;

// The version an A2A-Version header asks for: absent or empty → 0.3; "1", "1.0", "1.0.x" → 1.0;
// "0.3", "0.3.x" → 0.3; anything else → nullopt (VersionNotSupportedError).
std::optional<Version> negotiate_version(const std::string* header);

// `a2a_version` is the request's A2A-Version header (nullptr when absent). An unsupported
// version is ProtocolError VersionNotSupported.
std::variant<Operation, ProtocolError> parse_jsonrpc(std::string_view body, const std::string* a2a_version);
// `method` and `rest_path` (the path after /a2a/{agent}, e.g. "/v1/tasks/abc:cancel"), `query`
// (without '?'), `body` ("" for GET).
std::variant<Operation, ProtocolError> parse_rest(std::string_view method, std::string_view rest_path,
                                                  std::string_view query, std::string_view body,
                                                  const std::string* a2a_version);

// The path after /a2a/{agent} of a request path, as the client sent it (still percent-encoded);
// "" for /a2a/{agent} itself.
std::string_view rest_path_of(std::string_view request_path);
// Kind::send or Kind::stream when `method` and `rest_path` are a REST message send as parse_rest
// reads them (segments percent-decoded, with or without the 0.3 /v1 prefix); nullopt otherwise.
// The limit stage counts calls with this, so it sees exactly the sends the A2A route serves.
std::optional<Kind> rest_send_kind(std::string_view method, std::string_view rest_path);

}  // namespace pc::a2a
