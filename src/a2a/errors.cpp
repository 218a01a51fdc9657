#include "a2a/errors.h"

#include <boost/json.hpp>

#include "core/json_text.h"

namespace pc::a2a {
namespace {

namespace json = boost::json;

struct ErrorSpec {
  int code;
  std::string_view reason;  // ErrorInfo.reason (1.0 REST)
  std::string_view status;  // google.rpc.Code name
  int http;
};
// A2A 1.0 §5.4's table as the SDK maps it (REST_ERROR_HTTP_STATUS, REST_ERROR_STATUS_NAME).
constexpr ErrorSpec kSpecs[] = {
    {kTaskNotFound, "TASK_NOT_FOUND", "NOT_FOUND", 404},
    {kTaskNotCancelable, "TASK_NOT_CANCELABLE", "FAILED_PRECONDITION", 400},
    {kPushNotSupported, "PUSH_NOTIFICATION_NOT_SUPPORTED", "FAILED_PRECONDITION", 400},
    {kUnsupportedOperation, "UNSUPPORTED_OPERATION", "FAILED_PRECONDITION", 400},
    {kContentTypeNotSupported, "CONTENT_TYPE_NOT_SUPPORTED", "INVALID_ARGUMENT", 400},
    {kInvalidAgentResponse, "INVALID_AGENT_RESPONSE", "INTERNAL", 500},
    {kExtendedCardNotConfigured, "EXTENDED_AGENT_CARD_NOT_CONFIGURED", "FAILED_PRECONDITION", 400},
    {kExtensionSupportRequired, "EXTENSION_SUPPORT_REQUIRED", "FAILED_PRECONDITION", 400},
    {kVersionNotSupported, "VERSION_NOT_SUPPORTED", "FAILED_PRECONDITION", 400},
    {kInvalidParams, "INVALID_PARAMS", "INVALID_ARGUMENT", 400},
    {kParseError, "INVALID_PARAMS", "INVALID_ARGUMENT", 400},
    {kInvalidRequest, "INVALID_PARAMS", "INVALID_ARGUMENT", 400},
    {kMethodNotFound, "", "NOT_FOUND", 404},
    {kInternalError, "", "INTERNAL", 500},
};

const ErrorSpec* spec_of(int code) {
  for (const auto& s : kSpecs)
    if (s.code == code) return &s;
  return nullptr;
}

}  // namespace

std::string_view error_reason(int code) {
  const ErrorSpec* s = spec_of(code);
  return s ? s->reason : std::string_view{};
}
std::string_view error_status_name(int code) {
  const ErrorSpec* s = spec_of(code);
  return s ? s->status : std::string_view("INTERNAL");
}
int error_http_status(int code) {
  const ErrorSpec* s = spec_of(code);
  return s ? s->http : 500;
}

ProtocolError make_error(int code, std::string message) {
  ProtocolError e;
  e.code = code;
  e.message = std::move(message);
  e.http_status = error_http_status(code);
  return e;
}

std::string jsonrpc_error_text(const json::value& id, int code, std::string_view message) {
  return core::json_text(
      json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
}

std::string rest_error_text(Version v, const ProtocolError& e) {
  if (v == Version::v0_3) return core::json_text(json::object{{"code", e.code}, {"message", e.message}});
  json::object status{{"code", e.http_status}, {"status", error_status_name(e.code)}, {"message", e.message}};
  json::array details;
  if (std::string_view reason = error_reason(e.code); !reason.empty())
    details.push_back(json::object{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                   {"reason", reason},
                                   {"domain", "a2a-protocol.org"}});
  status["details"] = std::move(details);
  return core::json_text(json::object{{"error", std::move(status)}});
}

net::Response error_answer(const ErrorTarget& to, const ProtocolError& e) {
  // The JSON-RPC binding answers every JSON-RPC error with HTTP 200 (A2A 1.0 §9: errors are in
  // the body); the SDK's JSON-RPC client reads the error object whatever the status.
  if (to.binding == Binding::jsonrpc) return net::Response::json(200, jsonrpc_error_text(to.rpc_id, e.code, e.message));
  return net::Response::json(e.http_status, rest_error_text(to.version, e));
}

std::string sse_error_event(const ErrorTarget& to, const ProtocolError& e) {
  if (to.binding == Binding::jsonrpc) return "data: " + jsonrpc_error_text(to.rpc_id, e.code, e.message) + "\n\n";
  return "event: error\ndata: " + rest_error_text(to.version, e) + "\n\n";
}

}  // namespace pc::a2a
