// base64url without padding (RFC 4648 §5), as JOSE (RFC 7515 §2) uses it. Pure, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pc::core {

std::string base64url_encode(std::string_view bytes);

// Strict: rejects padding, whitespace, characters outside the alphabet, impossible lengths
// (len % 4 == 1) and a last character with non-zero unused bits, so each byte string has exactly
// one accepted encoding (a token cannot be re-encoded into a different but equal-meaning form).
std::optional<std::string> base64url_decode(std::string_view text);

// Standard base64 with padding (RFC 4648 §4), as HTTP Basic credentials use it. Equally strict:
// the length must be a multiple of 4 and padding may only end the text.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pc::core
