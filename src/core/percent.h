// Percent-decoding (RFC 3986 §2.1), shared by URL path segments and form bodies.
#pragma once

#include <string>
#include <string_view>

namespace pc::core {

// Decodes %XX escapes (and '+' as a space when `plus_as_space`, as forms use it). False on a
// malformed escape or a NUL byte, encoded or not: no caller has a use for NUL, and C APIs
// further down would cut the value short.
bool percent_decode(std::string_view in, std::string& out, bool plus_as_space);

}  // namespace pc::core
