// application/x-www-form-urlencoded bodies (the OAuth token endpoint, RFC 6749 Appendix B).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pc::api {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Splits on '&', then '=', decoding '+' as space and %XX escapes. nullopt on a malformed escape,
// a NUL byte, or more than `max_fields` fields.
std::optional<FormFields> parse_form(std::string_view body, std::size_t max_fields = 64);

// Percent-decodes one component ('+' as space); false on a malformed escape or a NUL.
bool form_decode(std::string_view in, std::string& out);

}  // namespace pc::api
