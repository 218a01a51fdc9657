#include "jose/jwks.h"

#include <algorithm>
#include <exception>
#include <utility>

namespace pc::jose {

namespace json = boost::json;

namespace {

std::string clip(std::string_view s, std::size_t n = 64) {
  return std::string(s.substr(0, std::min(n, s.size())));
}

std::string entry_name(std::size_t i, const json::object& o) {
  std::string name = "key[" + std::to_string(i) + "]";
  if (const auto* kid = o.if_contains("kid"); kid && kid->is_string())
    name += " (kid '" + clip(kid->get_string()) + "')";
  return name;
}

}  // namespace

JwkSet JwkSet::parse(std::string_view json_text, std::vector<std::string>* skipped_reasons) {
  if (json_text.size() > kMaxJwksSize) throw JoseError("jwks: document larger than 256 KiB");

  json::parse_options opt;
  opt.max_depth = kMaxJwksDepth;
  json::error_code ec;
  json::value doc = json::parse(json::string_view(json_text.data(), json_text.size()), ec, {}, opt);
  if (ec) throw JoseError("jwks: invalid JSON (" + ec.message() + ")");
  if (!doc.is_object()) throw JoseError("jwks: not a JSON object");
  const auto* keys = doc.get_object().if_contains("keys");
  if (!keys) throw JoseError("jwks: missing 'keys'");
  if (!keys->is_array()) throw JoseError("jwks: 'keys' is not an array");

  auto skip = [&](std::string reason) {
    if (skipped_reasons) skipped_reasons->push_back(std::move(reason));
  };

  JwkSet set;
  const json::array& arr = keys->get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    if (set.keys_.size() >= kMaxJwksKeys) {
      skip("key[" + std::to_string(i) + "] and later: more than " + std::to_string(kMaxJwksKeys) + " usable keys");
      break;
    }
    if (!arr[i].is_object()) {
      skip("key[" + std::to_string(i) + "]: not an object");
      continue;
    }
    const json::object& entry = arr[i].get_object();
    const std::string name = entry_name(i, entry);
    try {
      PublicKey key = parse_jwk(entry);
      if (!key.use().empty() && key.use() != "sig") {
        skip(name + ": use '" + clip(key.use()) + "' is not 'sig'");
        continue;
      }
      if (!key.alg().empty()) {
        const auto alg = parse_alg(key.alg());
        if (!alg) {
          skip(name + ": alg '" + clip(key.alg()) + "' is not a supported JWS alg");
          continue;
        }
        if (!key_fits(key, *alg)) {
          skip(name + ": alg '" + clip(key.alg()) + "' does not fit the key type");
          continue;
        }
      }
      set.keys_.push_back(std::move(key));
    } catch (const std::exception& e) {
      skip(name + ": " + e.what());
    }
  }
  return set;
}

std::vector<const PublicKey*> JwkSet::find(std::string_view kid) const {
  std::vector<const PublicKey*> out;
  for (const auto& k : keys_)
    if (k.kid() == kid) out.push_back(&k);
  return out;
}

std::vector<const PublicKey*> JwkSet::candidates(const ParsedJws& jws) const {
  if (jws.kid) return find(*jws.kid);
  std::vector<const PublicKey*> out;
  for (const auto& k : keys_) {
    if (!key_fits(k, jws.alg)) continue;
    if (!k.alg().empty() && k.alg() != alg_name(jws.alg)) continue;
    out.push_back(&k);
  }
  return out;
}

JwksVerifyResult verify_jws_with_set(std::string_view token, const JwkSet& set,
                                     const std::vector<Alg>& allowed_algs,
                                     const VerifyOptions& options) {
  // Parsed once; each candidate key then runs verify_jws's remaining steps on the same parse.
  detail::JwsView view;
  try {
    view = detail::parse_jws_view(token, options.jws);
  } catch (const JoseError& e) {
    JwksVerifyResult out;
    out.reason = e.what();
    return out;
  } catch (const std::exception& e) {
    JwksVerifyResult out;
    out.reason = std::string("jwks: ") + e.what();
    return out;
  }
  return detail::verify_view_with_set(view, set, allowed_algs, options);
}

namespace detail {

JwksVerifyResult verify_view_with_set(JwsView& view, const JwkSet& set, const std::vector<Alg>& allowed_algs,
                                      const VerifyOptions& options) {
  JwksVerifyResult out;
  try {
    const ParsedJws& parsed = view.parsed;
    if (std::find(allowed_algs.begin(), allowed_algs.end(), parsed.alg) == allowed_algs.end()) {
      out.reason = "alg '" + std::string(alg_name(parsed.alg)) + "' is not allowed for this issuer";
      return out;
    }
    const auto cands = set.candidates(parsed);
    if (cands.empty()) {
      out.unknown_kid = true;
      out.reason = parsed.kid ? "no key for kid '" + clip(*parsed.kid) + "'"
                              : "no key for kid (none in token) fitting alg '" +
                                    std::string(alg_name(parsed.alg)) + "'";
      return out;
    }
    for (const PublicKey* key : cands) {
      VerifyResult r = verify_parsed(view, *key, options);
      if (r.ok) {
        static_cast<VerifyResult&>(out) = std::move(r);
        return out;
      }
      out.reason = std::move(r.reason);
    }
    return out;
  } catch (const std::exception& e) {
    JwksVerifyResult fail;
    fail.reason = std::string("jwks: ") + e.what();
    return fail;
  }
}

}  // namespace detail

}  // namespace pc::jose
