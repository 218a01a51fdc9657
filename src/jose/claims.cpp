#include "jose/claims.h"

#include <algorithm>
#include <string_view>

namespace pc::jose {
namespace {

namespace json = boost::json;

// A NumericDate (RFC 7519 §2): a JSON number in [0, 2^53). nullopt with `why` set otherwise.
std::optional<double> numeric_date(const json::value& v, const char* name, std::string& why) {
  double d;
  if (v.is_int64()) {
    d = double(v.get_int64());
  } else if (v.is_uint64()) {
    d = double(v.get_uint64());
  } else if (v.is_double()) {
    d = v.get_double();
  } else {
    why = std::string("claims: ") + name + " is not a number";
    return std::nullopt;
  }
  if (!(d >= 0.0 && d < kMaxNumericDate)) {  // also rejects NaN
    why = std::string("claims: ") + name + " is out of range";
    return std::nullopt;
  }
  return d;
}

// The registered claims the policy checks, found in one pass over the payload instead of one
// linear lookup each (a json::object holds each name at most once).
struct Registered {
  const json::value* iss = nullptr;
  const json::value* aud = nullptr;
  const json::value* exp = nullptr;
  const json::value* nbf = nullptr;
  const json::value* iat = nullptr;

  explicit Registered(const json::object& payload) {
    for (const auto& kv : payload) {
      const std::string_view k = kv.key();
      if (k.size() != 3) continue;
      const json::value* v = &kv.value();
      if (k == "iss") iss = v;
      else if (k == "aud") aud = v;
      else if (k == "exp") exp = v;
      else if (k == "nbf") nbf = v;
      else if (k == "iat") iat = v;
    }
  }
};

}  // namespace

std::optional<std::string> check_claims(const json::object& payload, const ClaimsPolicy& policy) {
  if (policy.issuer.empty()) return "claims: policy has no issuer";
  if (policy.audiences.empty()) return "claims: policy has no audience";
  if (policy.leeway_seconds < 0) return "claims: negative leeway";
  if (policy.now <= 0) return "claims: policy has no clock (now unset)";

  const Registered claims(payload);
  const auto* iss = claims.iss;
  if (!iss) return "claims: missing iss";
  if (!iss->is_string()) return "claims: iss is not a string";
  if (iss->get_string() != policy.issuer) return "claims: wrong issuer";

  const auto* aud = claims.aud;
  if (!aud) return "claims: missing aud";
  auto wanted = [&](std::string_view a) {
    return std::find(policy.audiences.begin(), policy.audiences.end(), a) !=
           policy.audiences.end();
  };
  bool aud_ok = false;
  if (aud->is_string()) {
    aud_ok = wanted(aud->get_string());
  } else if (aud->is_array()) {
    if (aud->get_array().empty()) return "claims: aud is an empty array";
    for (const auto& a : aud->get_array()) {
      if (!a.is_string()) return "claims: aud array holds a non-string";
      if (wanted(a.get_string())) aud_ok = true;
    }
  } else {
    return "claims: aud is not a string or array";
  }
  if (!aud_ok) return "claims: wrong audience";

  // now +/- leeway in double: exact, since both stay far below 2^53 in practice.
  const double now = double(policy.now);
  const double leeway = double(policy.leeway_seconds);
  std::string why;

  const auto* exp_v = claims.exp;
  if (!exp_v) return "claims: missing exp";
  auto exp = numeric_date(*exp_v, "exp", why);
  if (!exp) return why;
  if (!(now - leeway < *exp)) return "claims: token expired";

  if (const auto* nbf_v = claims.nbf) {
    auto nbf = numeric_date(*nbf_v, "nbf", why);
    if (!nbf) return why;
    if (*nbf > now + leeway) return "claims: token not yet valid (nbf)";
  }

  std::optional<double> iat;
  if (const auto* iat_v = claims.iat) {
    iat = numeric_date(*iat_v, "iat", why);
    if (!iat) return why;
    if (*iat > now + leeway) return "claims: iat is in the future";
  }

  if (policy.max_lifetime_seconds) {
    const double max = double(*policy.max_lifetime_seconds);
    if (iat && *exp - *iat > max) return "claims: lifetime (exp - iat) exceeds the maximum";
    if (*exp - now > max + leeway) return "claims: exp is too far in the future";
  }
  return std::nullopt;
}

}  // namespace pc::jose
