// Small, allocation-light helpers for writing JSON text by hand on hot paths (log lines, error
// bodies) where building a boost::json::value first would cost more than the output itself.
#pragma once

#include <string>
#include <string_view>

namespace pc::core {

// Length of the valid UTF-8 sequence (RFC 3629: no overlong forms, surrogates or values past
// U+10FFFF) starting at s[i], or 0 when none starts there. `i` must be < s.size().
std::size_t utf8_len(std::string_view s, std::size_t i);

// Appends `s` as a quoted JSON string, escaping quotes, backslashes and control characters.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace pc::core
