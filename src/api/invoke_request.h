// The invoke route's request side (SPEC §5, docs/agent-runtime-contract.md): the caller's body
// parsed and checked, and the body the gateway sends to the runtime's POST /invocations.
// Pure functions: no I/O, unit-tested in tests/unit/api/invoke_test.cpp.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include <boost/json/value.hpp>

#include "net/http.h"

namespace pc::api {

enum class InvokeMode { sync, stream, async };
std::string_view mode_name(InvokeMode m);

// Bounds on what a caller names (the body as a whole is bounded by server.limits.max_body_bytes).
inline constexpr std::size_t kMaxSessionIdBytes = 64;
inline constexpr std::size_t kMaxWebhookIdBytes = 128;

struct InvokeRequest {
  boost::json::value input;     // required, any JSON value but null
  std::string session_id;       // "" = the gateway creates one
  InvokeMode mode = InvokeMode::sync;
  boost::json::value context;   // an object, or null when absent
  boost::json::value metadata;  // an object, or null when absent
  std::string webhook_id;       // async only; "" when absent
};

// `{input, sessionId?, mode?, context?, metadata?, webhookId?}`; the mode comes from the body,
// else `Accept: text/event-stream` means stream, else sync. Anything else → the 400
// invalid_request answer naming the field.
std::variant<InvokeRequest, net::Response> parse_invoke(const net::Request& req);

// The JSON body of POST /invocations: {input, sessionId, context, metadata, mode, invocationId}
// (context and metadata as {} when the caller sent none, so runtimes need not test for null).
std::string runtime_body(const InvokeRequest& r, std::string_view session_id, std::string_view invocation_id);

}  // namespace pc::api
