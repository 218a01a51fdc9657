// Strict JSON-RPC 2.0 framing for MCP (SPEC §7): one message per text (MCP 2025-06-18 removed
// batches), bounded parsing (size, depth, number of values, no duplicate member names, no invalid
// UTF-8, no non-finite numbers), and the error objects the gateway answers with. Pure: no I/O.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pc::mcp::jsonrpc {

// SPEC §7 error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kUnauthenticated = -32001;
inline constexpr int kForbidden = -32003;

struct Limits {
  std::size_t max_bytes = 4u << 20;     // the whole text
  std::size_t max_depth = 64;           // nesting of arrays and objects
  std::size_t max_values = 1u << 18;    // every value (members and elements) in the document
};

// Parses one JSON text under `limits`: duplicate member names (at any depth), invalid UTF-8,
// comments, trailing commas, numbers beyond a double's range and trailing data are refused.
// Returns nullopt and sets `error` (a short reason, safe to show) when refused.
std::optional<boost::json::value> parse_bounded(std::string_view text, const Limits& limits, std::string& error);

enum class Kind { request, notification, response };

struct Message {
  Kind kind = Kind::request;
  boost::json::value id;      // request/response: a string or an integer; notification: null.
                              // A response carrying an error may have a null id (JSON-RPC 2.0 §5).
  std::string method;         // request/notification
  boost::json::object params; // request/notification: {} when absent
  bool has_params = false;
  boost::json::value result;  // response with a result
  boost::json::object error;  // response with an error: {code (integer), message (string), data?}
  bool is_error = false;      // response: error (true) or result (false)
};

// Why a text is not a message: the code to answer with (kParseError or kInvalidRequest), a short
// message, and the request's id when it could be read (else null), for the error response.
struct ParseFailure {
  int code = kInvalidRequest;
  std::string message;
  boost::json::value id;
};

struct ParseResult {
  std::optional<Message> message;
  ParseFailure failure;  // meaningful when !message
  bool ok() const { return message.has_value(); }
};

// One MCP message from the wire.
ParseResult parse(std::string_view text, const Limits& limits = {});
// The same checks on an already parsed value (e.g. one event of an upstream's SSE stream).
ParseResult classify(boost::json::value&& v);

// {"code": code, "message": message[, "data": data]}
boost::json::object error_object(int code, std::string_view message, const boost::json::value* data = nullptr);
// {"jsonrpc":"2.0","id": id,"error": {...}}. `id` null when unknown.
boost::json::object error_response(const boost::json::value& id, int code, std::string_view message,
                                   const boost::json::value* data = nullptr);
// {"jsonrpc":"2.0","id": id,"result": result}
boost::json::object result_response(const boost::json::value& id, boost::json::value result);
// The error response for a failed parse.
boost::json::object error_response(const ParseFailure& f);

}  // namespace pc::mcp::jsonrpc
