#include "jose/jws.h"

#include <set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>

#include "core/base64url.h"

namespace pc::jose {
namespace {

namespace json = boost::json;

[[noreturn]] void fail(const std::string& why) { throw JoseError("jws: " + why); }

// Streaming handler that only records member names per object to find duplicates (Boost.JSON's
// value builder silently keeps the last one). Values are not materialized.
struct DuplicateKeyHandler {
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);

  std::vector<std::set<std::string>> open;
  std::string key;
  bool duplicate = false;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    open.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    open.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key.append(s.data(), s.size());
    const bool fresh = open.back().insert(std::move(key)).second;
    key.clear();
    if (!fresh) {
      duplicate = true;
      ec = json::error::syntax;
      return false;
    }
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

json::parse_options strict_options() {
  json::parse_options opt;  // defaults: no comments, no trailing commas, no invalid UTF-8
  opt.max_depth = kMaxJsonDepth;
  return opt;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Media type without an optional "application/" prefix (RFC 7515 §4.1.9), for case-insensitive
// comparison.
std::string_view strip_application(std::string_view type) {
  constexpr std::string_view prefix = "application/";
  if (type.size() >= prefix.size() && iequals(type.substr(0, prefix.size()), prefix))
    type.remove_prefix(prefix.size());
  return type;
}

json::object decode_object(std::string_view b64, const char* what) {
  auto text = core::base64url_decode(b64);
  if (!text) fail(std::string(what) + " is not canonical base64url");
  try {
    return parse_json_object_strict(*text);
  } catch (const JoseError& e) {
    fail(std::string(what) + ": " + e.what());
  }
}

Alg header_alg(const json::object& h) {
  const auto* v = h.if_contains("alg");
  if (!v) fail("missing alg");
  if (!v->is_string()) fail("alg is not a string");
  const std::string_view name = v->get_string();
  if (iequals(name, "none")) fail("alg none is not allowed");
  if (name.size() >= 2 && iequals(name.substr(0, 2), "HS"))
    fail("HMAC alg '" + std::string(name) + "' is not allowed");
  auto alg = parse_alg(name);
  if (!alg) fail("unsupported alg '" + std::string(name.substr(0, 32)) + "'");
  return *alg;
}

void check_header(const json::object& h, const JwsOptions& options, ParsedJws& out) {
  out.alg = header_alg(h);

  // Keys embedded in or referenced by the token are never trusted: the key comes from the
  // issuer's configured JWKS only. (x5t / x5t#S256 are ignored, never used.)
  for (const char* name : {"jwk", "jku", "x5u", "x5c"})
    if (h.contains(name)) fail(std::string("header carries a key ('") + name + "'), not allowed");

  // We understand no extensions, so any crit fails; an empty or non-array crit is malformed
  // (RFC 7515 §4.1.11).
  if (const auto* crit = h.if_contains("crit")) {
    if (!crit->is_array()) fail("crit is not an array");
    if (crit->get_array().empty()) fail("crit is empty");
    fail("crit names an unsupported extension");
  }

  if (const auto* typ = h.if_contains("typ")) {
    if (!typ->is_string()) fail("typ is not a string");
    const std::string_view t = strip_application(typ->get_string());
    if (!iequals(t, "JWT") && !iequals(t, "at+jwt"))
      fail("typ '" + std::string(typ->get_string().subview(0, 64)) + "' is not JWT or at+jwt");
    out.typ = std::string(typ->get_string());
  } else if (options.require_typ) {
    fail("missing typ");
  }

  if (const auto* cty = h.if_contains("cty")) {
    if (!cty->is_string()) fail("cty is not a string");
    if (iequals(strip_application(cty->get_string()), "JWT"))
      fail("nested token (cty JWT) is not supported");
  }

  if (const auto* kid = h.if_contains("kid")) {
    if (!kid->is_string()) fail("kid is not a string");
    const auto& s = kid->get_string();
    if (s.empty() || s.size() > kMaxKidLength) fail("kid length must be 1..256");
    out.kid = std::string(s);
  }
}

}  // namespace

json::object parse_json_object_strict(std::string_view text) {
  const json::parse_options opt = strict_options();
  {
    json::basic_parser<DuplicateKeyHandler> p(opt);
    json::error_code ec;
    p.write_some(false, text.data(), text.size(), ec);
    if (p.handler().duplicate) throw JoseError("json: duplicate member name");
    if (ec) throw JoseError("json: invalid JSON (" + ec.message() + ")");
  }
  json::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opt);
  if (ec) throw JoseError("json: invalid JSON (" + ec.message() + ")");
  if (!v.is_object()) throw JoseError("json: not an object");
  return std::move(v.get_object());
}

ParsedJws parse_jws(std::string_view token, const JwsOptions& options) {
  if (token.size() > kMaxJwsSize) fail("token larger than 16 KiB");
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    fail("compact JWS must have exactly three parts");
  const std::string_view h64 = token.substr(0, d1);
  const std::string_view p64 = token.substr(d1 + 1, d2 - d1 - 1);
  const std::string_view s64 = token.substr(d2 + 1);
  if (h64.empty()) fail("empty header");

  ParsedJws out;
  out.header = decode_object(h64, "header");
  check_header(out.header, options, out);  // first, so "alg none" is named as such
  if (s64.empty()) fail("empty signature");

  auto payload = core::base64url_decode(p64);
  if (!payload) fail("payload is not canonical base64url");
  if (options.require_json_payload) {
    try {
      out.payload = parse_json_object_strict(*payload);
    } catch (const JoseError& e) {
      fail(std::string("payload: ") + e.what());
    }
  }
  out.payload_bytes = std::move(*payload);

  auto sig = core::base64url_decode(s64);
  if (!sig) fail("signature is not canonical base64url");
  out.signature = std::move(*sig);
  out.signing_input = std::string(token.substr(0, d2));
  return out;
}

VerifyResult verify_jws(std::string_view token, const PublicKey& key,
                        const VerifyOptions& options) {
  VerifyResult r;
  try {
    ParsedJws jws = parse_jws(token, options.jws);
    if (!key.use().empty() && key.use() != "sig") {
      r.reason = "jws: key is not a signing key (use=" + key.use() + ")";
      return r;
    }
    if (!key_fits(key, jws.alg)) {
      r.reason = "jws: alg " + std::string(alg_name(jws.alg)) + " does not fit the key type";
      return r;
    }
    if (!key.alg().empty() && key.alg() != alg_name(jws.alg)) {
      r.reason = "jws: alg " + std::string(alg_name(jws.alg)) + " differs from the key's alg " +
                 key.alg();
      return r;
    }
    if (jws.kid && !key.kid().empty() && *jws.kid != key.kid()) {
      r.reason = "jws: token kid does not match the key's kid";
      return r;
    }
    if (!verify(key, jws.alg, jws.signing_input, jws.signature)) {
      r.reason = "jws: signature verification failed";
      return r;
    }
    if (auto bad = check_claims(jws.payload, options.claims)) {
      r.reason = *bad;
      return r;
    }
    r.ok = true;
    r.header = std::move(jws.header);
    r.payload = std::move(jws.payload);
  } catch (const JoseError& e) {
    r.reason = e.what();
  } catch (const std::exception& e) {
    r.reason = std::string("jws: internal error: ") + e.what();
  }
  return r;
}

}  // namespace pc::jose
