// A2A errors as each binding carries them (docs/a2a.md "Errors"). The gateway refuses some
// requests itself (a task of another tenant, a malformed request, the runtime gone) and must say
// so the way the client's SDK reads errors, else the client sees a transport failure instead of
// TaskNotFoundError:
//   JSON-RPC (both versions): HTTP 200, {"jsonrpc":"2.0","id":…,"error":{"code","message"}};
//   REST 1.0: the HTTP status of the error and a google.rpc.Status body
//     {"error":{"code":<http>,"status":"NOT_FOUND","message",
//               "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",
//                           "reason":"TASK_NOT_FOUND","domain":"a2a-protocol.org"}]}};
//   REST 0.3: the HTTP status and {"code":<JSON-RPC code>,"message"} (the 0.3 SDK's REST client).
// In a stream whose head already went out, the same error is the last event.
// Owner: "proxy". Pure.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "a2a/protocol.h"
#include "net/http.h"

namespace pc::a2a {

// How an error is addressed: the binding and version of the request, and its JSON-RPC id.
struct ErrorTarget {
  Binding binding = Binding::jsonrpc;
  Version version = Version::v1_0;
  boost::json::value rpc_id;  // null for REST or when unknown
};
inline ErrorTarget target_of(const Operation& op) { return {op.binding, op.version, op.rpc_id}; }

// ErrorInfo reason and google.rpc status name of an A2A code ("TASK_NOT_FOUND", "NOT_FOUND").
std::string_view error_reason(int code);
std::string_view error_status_name(int code);
// The HTTP status a REST answer carries for `code` (the SDK's REST_ERROR_HTTP_STATUS).
int error_http_status(int code);

ProtocolError make_error(int code, std::string message);

// The answer refusing a request.
net::Response error_answer(const ErrorTarget& to, const ProtocolError& e);
// The error as the body of a JSON-RPC answer ({"jsonrpc","id","error"}), as a REST body, or as
// the closing SSE event of a stream.
std::string jsonrpc_error_text(const boost::json::value& id, int code, std::string_view message);
std::string rest_error_text(Version v, const ProtocolError& e);
std::string sse_error_event(const ErrorTarget& to, const ProtocolError& e);

}  // namespace pc::a2a
