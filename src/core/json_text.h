// Small, allocation-light helpers for writing JSON text by hand on hot paths (log lines, error
// bodies) where building a boost::json::value first would cost more than the output itself.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

namespace pc::core {

// Length of the valid UTF-8 sequence (RFC 3629: no overlong forms, surrogates or values past
// U+10FFFF) starting at s[i], or 0 when none starts there. `i` must be < s.size().
std::size_t utf8_len(std::string_view s, std::size_t i);

// Appends `s` as a quoted JSON string, escaping quotes, backslashes and control characters.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

// The one writer for JSON answers: `v` as compact JSON text, every string and key through
// append_json_string, so text that came from a request or the store (a path, a name, stored
// audit details) can never make an answer invalid JSON. boost::json::serialize copies string
// bytes as they are, invalid UTF-8 included.
std::string json_text(const boost::json::value& v);
void append_json(std::string& out, const boost::json::value& v);

}  // namespace pc::core
