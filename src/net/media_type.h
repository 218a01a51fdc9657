// Content-Type's media type, for code that decides by it (the token endpoint's form check, the
// WAF's decoded body scan). Parameters (";charset=…") and surrounding blanks are cut; the
// comparison ignores case (RFC 9110 §8.3.1).
#pragma once

#include <string_view>

#include "net/http.h"

namespace pc::net {

bool has_media_type(const Request& req, std::string_view type);

}  // namespace pc::net
