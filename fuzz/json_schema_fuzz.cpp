// libFuzzer target: JSON Schema compilation and validation (mcp/json_schema.cpp) on hostile
// schemas and instances. Input: a schema, a newline, an instance. A schema must either compile or
// throw SchemaError; validation must terminate within its limits, be deterministic, and report
// at most max_errors short "/path: reason" lines.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "mcp/json_schema.h"
#include "mcp/jsonrpc.h"

namespace json = boost::json;
using namespace pc::mcp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto nl = text.find('\n');
  if (nl == std::string_view::npos) return 0;
  jsonrpc::Limits limits;
  limits.max_values = 2048;
  std::string error;
  auto schema = jsonrpc::parse_bounded(text.substr(0, nl), limits, error);
  auto instance = jsonrpc::parse_bounded(text.substr(nl + 1), limits, error);
  if (!schema || !instance) return 0;
  SchemaLimits sl;
  sl.max_work = 20000;
  std::shared_ptr<const CompiledSchema> compiled;
  try {
    compiled = CompiledSchema::compile(*schema, sl);
  } catch (const SchemaError&) {
    return 0;
  }
  const auto a = compiled->validate(*instance);
  const auto b = compiled->validate(*instance);
  if (a.valid != b.valid || a.errors != b.errors) __builtin_trap();
  if (a.valid != a.errors.empty()) __builtin_trap();
  if (a.errors.size() > sl.max_errors) __builtin_trap();
  for (const auto& e : a.errors) {
    if (e.empty() || (e[0] != '/' && e.rfind("…", 0) != 0)) __builtin_trap();
    if (e.size() > 400) __builtin_trap();
  }
  // The schema validates itself without crashing too (schemas are JSON values).
  (void)compiled->validate(*schema);
  return 0;
}
