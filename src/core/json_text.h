// Small, allocation-light helpers for writing JSON text by hand on hot paths (log lines, error
// bodies) where building a boost::json::value first would cost more than the output itself.
#pragma once

#include <string>
#include <string_view>

namespace pc::core {

// Appends `s` as a quoted JSON string, escaping quotes, backslashes and control characters.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace pc::core
