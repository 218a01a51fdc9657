// libFuzzer target: the strict JSON-RPC 2.0 parser every MCP message goes through
// (mcp/jsonrpc.cpp). Whatever it accepts must re-serialise into a message that parses back to the
// same kind, id and method; whatever it refuses must yield an error response that is itself a
// valid JSON-RPC response.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json.hpp>

#include "mcp/jsonrpc.h"

namespace json = boost::json;
using namespace pc::mcp::jsonrpc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_values = 4096;
  auto r = parse(text, limits);
  if (!r.ok()) {
    if (r.failure.code != kParseError && r.failure.code != kInvalidRequest) __builtin_trap();
    auto again = parse(json::serialize(error_response(r.failure)));
    if (!again.ok() || again.message->kind != Kind::response || !again.message->is_error) __builtin_trap();
    return 0;
  }
  const Message& m = *r.message;
  json::object o;
  o["jsonrpc"] = "2.0";
  if (m.kind != Kind::notification) o["id"] = m.id;
  if (m.kind == Kind::response) {
    if (m.is_error) o["error"] = m.error;
    else o["result"] = m.result;
  } else {
    o["method"] = m.method;
    if (m.has_params) o["params"] = m.params;
  }
  auto again = parse(json::serialize(o), limits);
  if (!again.ok()) __builtin_trap();
  const Message& n = *again.message;
  if (n.kind != m.kind || n.method != m.method || n.is_error != m.is_error || n.has_params != m.has_params) __builtin_trap();
  if (m.id.is_string() && (!n.id.is_string() || n.id.get_string() != m.id.get_string())) __builtin_trap();
  if (m.id.is_int64() && (!n.id.is_int64() || n.id.get_int64() != m.id.get_int64())) __builtin_trap();
  return 0;
}
