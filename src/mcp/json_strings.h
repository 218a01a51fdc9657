// Applying a transform to every string VALUE of a JSON document (objects, arrays, nested; keys
// are left alone): how the response guards reach every string of an MCP result — text content,
// structuredContent, resource contents, error messages — without knowing its shape.
#pragma once

#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string_view>

namespace pc::mcp {

// Nesting deeper than the limit: the walk stops and throws (callers fail closed).
struct JsonTooDeep : std::runtime_error {
  JsonTooDeep() : std::runtime_error("JSON nested too deeply") {}
};

constexpr std::size_t kDefaultJsonDepth = 128;

// Calls `fn` on every string value of `v`, depth first, in document order; `fn` may change the
// string in place. Iterative (no recursion), so a deep document cannot overflow the stack; a
// container nested more than `max_depth` levels throws JsonTooDeep.
void for_each_string(boost::json::value& v, const std::function<void(boost::json::string&)>& fn,
                     std::size_t max_depth = kDefaultJsonDepth);

// Read-only walk. With `include_keys`, object keys are visited too (guardrails check them: a
// refused value must not slip through as a key).
void for_each_string(const boost::json::value& v, const std::function<void(std::string_view)>& fn,
                     bool include_keys = false, std::size_t max_depth = kDefaultJsonDepth);

}  // namespace pc::mcp
