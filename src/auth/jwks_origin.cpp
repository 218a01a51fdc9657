#include "auth/jwks_origin.h"

#include <cstdint>
#include <optional>
#include <string>

#include <boost/url/parse.hpp>

#include "net/http.h"

namespace pc::auth {
namespace {

namespace urls = boost::urls;

struct Origin {
  bool https = false;
  std::string host;  // as written (encoded); compared case-insensitively
  std::uint16_t port = 0;
};

std::optional<Origin> origin_of(std::string_view text) {
  auto parsed = urls::parse_uri(text);
  if (!parsed) return std::nullopt;
  const urls::url_view& u = *parsed;
  Origin o;
  if (u.scheme_id() == urls::scheme::https) o.https = true;
  else if (u.scheme_id() != urls::scheme::http) return std::nullopt;
  if (!u.has_authority() || u.has_userinfo() || u.encoded_host().empty()) return std::nullopt;
  o.host = std::string(u.encoded_host());
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) return std::nullopt;
    o.port = u.port_number();
  } else {
    o.port = o.https ? 443 : 80;
  }
  return o;
}

}  // namespace

bool jwks_uri_allowed(std::string_view issuer, std::string_view jwks_uri) {
  auto iss = origin_of(issuer);
  auto jwks = origin_of(jwks_uri);
  if (!iss || !jwks || !net::iequals(iss->host, jwks->host)) return false;
  if (jwks->https) return true;  // https on the issuer's host, whatever the port
  return !iss->https && iss->port == jwks->port;  // plain http only at the issuer's own origin
}

}  // namespace pc::auth
