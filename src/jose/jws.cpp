#include "jose/jws.h"

#include <cmath>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>

#include "core/base64url.h"

namespace pc::jose {
namespace {

namespace json = boost::json;

[[noreturn]] void fail(const std::string& why) { throw JoseError("jws: " + why); }

// Builds the document exactly as boost::json::parse does (same value_stack calls) and counts every
// member the parser reports. value_stack::push_object keeps only the last of members with equal
// (unescaped) names, so the document holds a duplicate at some depth iff the built objects hold
// fewer members in total than were parsed (see member_count).
struct CountingValueHandler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::size_t members = 0;

  CountingValueHandler(unsigned char* temp, std::size_t size) : st({}, temp, size) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    members += n;
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code& ec) {
    // A number beyond a double's range parses as infinity, which no JSON text can carry back
    // out (re-serialised it no longer parses): refuse it (found by fuzz/json_fuzz.cpp).
    if (!std::isfinite(d)) {
      ec = json::error::exponent_overflow;
      return false;
    }
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

// Members held by the objects in `v`, at every depth. Recursion is bounded by kMaxJsonDepth.
std::size_t member_count(const json::value& v) {
  std::size_t n = 0;
  if (const auto* o = v.if_object()) {
    n = o->size();
    for (const auto& kv : *o)
      if (kv.value().is_structured()) n += member_count(kv.value());
  } else if (const auto* a = v.if_array()) {
    for (const auto& e : *a)
      if (e.is_structured()) n += member_count(e);
  }
  return n;
}

// Error path only (the text is already known to be invalid JSON): whether a duplicate member name
// comes before the syntax error, in which case the text is reported as a duplicate rather than as
// invalid JSON. Records member names per object; values are not materialized.
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

// The header members the rules look at, found in one pass over the header (a handful of
// members) instead of one lookup per name. Member names are unique (duplicates are rejected
// before), so each pointer is that member or null when absent.
struct HeaderMembers {
  const json::value* alg = nullptr;
  const json::value* jwk = nullptr;
  const json::value* jku = nullptr;
  const json::value* x5u = nullptr;
  const json::value* x5c = nullptr;
  const json::value* crit = nullptr;
  const json::value* typ = nullptr;
  const json::value* cty = nullptr;
  const json::value* kid = nullptr;

  explicit HeaderMembers(const json::object& h) {
    for (const auto& kv : h) {
      const std::string_view k = kv.key();
      const json::value* v = &kv.value();
      if (k.size() == 3) {
        if (k == "alg") alg = v;
        else if (k == "typ") typ = v;
        else if (k == "kid") kid = v;
        else if (k == "cty") cty = v;
        else if (k == "jwk") jwk = v;
        else if (k == "jku") jku = v;
        else if (k == "x5u") x5u = v;
        else if (k == "x5c") x5c = v;
      } else if (k == "crit") {
        crit = v;
      }
    }
  }
};

Alg header_alg(const json::value* v) {
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

// The rules run in a fixed order (alg first, so "alg none" is named as such), whatever the
// order of the members in the header.
void check_header(const json::object& h, const JwsOptions& options, ParsedJws& out) {
  const HeaderMembers m(h);
  out.alg = header_alg(m.alg);

  // Keys embedded in or referenced by the token are never trusted: the key comes from the
  // issuer's configured JWKS only. (x5t / x5t#S256 are ignored, never used.)
  for (const auto& [name, member] : {std::pair{"jwk", m.jwk}, std::pair{"jku", m.jku},
                                      std::pair{"x5u", m.x5u}, std::pair{"x5c", m.x5c}})
    if (member) fail(std::string("header carries a key ('") + name + "'), not allowed");

  // We understand no extensions, so any crit fails; an empty or non-array crit is malformed
  // (RFC 7515 §4.1.11).
  if (const auto* crit = m.crit) {
    if (!crit->is_array()) fail("crit is not an array");
    if (crit->get_array().empty()) fail("crit is empty");
    fail("crit names an unsupported extension");
  }

  if (const auto* typ = m.typ) {
    if (!typ->is_string()) fail("typ is not a string");
    const std::string_view t = strip_application(typ->get_string());
    if (!iequals(t, "JWT") && !iequals(t, "at+jwt"))
      fail("typ '" + std::string(typ->get_string().subview(0, 64)) + "' is not JWT or at+jwt");
    out.typ = std::string(typ->get_string());
  } else if (options.require_typ) {
    fail("missing typ");
  }

  if (const auto* cty = m.cty) {
    if (!cty->is_string()) fail("cty is not a string");
    if (iequals(strip_application(cty->get_string()), "JWT"))
      fail("nested token (cty JWT) is not supported");
  }

  if (const auto* kid = m.kid) {
    if (!kid->is_string()) fail("kid is not a string");
    const auto& s = kid->get_string();
    if (s.empty() || s.size() > kMaxKidLength) fail("kid length must be 1..256");
    out.kid = std::string(s);
  }
}

}  // namespace

json::object parse_json_object_strict(std::string_view text) {
  const json::parse_options opt = strict_options();
  // One pass: the parser's own stack buffer, as json::parse uses.
  unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
  json::basic_parser<CountingValueHandler> p(opt, temp, sizeof temp);
  p.handler().st.reset();
  json::error_code ec;
  const std::size_t used = p.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    json::basic_parser<DuplicateKeyHandler> dup(opt);
    json::error_code dup_ec;
    dup.write_some(false, text.data(), text.size(), dup_ec);
    if (dup.handler().duplicate) throw JoseError("json: duplicate member name");
    throw JoseError("json: invalid JSON (" + ec.message() + ")");
  }
  const std::size_t parsed_members = p.handler().members;
  json::value v = p.handler().st.release();
  if (member_count(v) != parsed_members) throw JoseError("json: duplicate member name");
  if (used < text.size()) {  // what json::parse calls extra_data
    throw JoseError("json: invalid JSON (" +
                    json::error_code(json::make_error_code(json::error::extra_data)).message() +
                    ")");
  }
  if (!v.is_object()) throw JoseError("json: not an object");
  return std::move(v.get_object());
}

namespace {

// parse_jws's work. With `fill_copies` (parse_jws), ParsedJws::signing_input and payload_bytes
// are filled too; verify_jws needs neither (it verifies over the view into the token), so it
// skips those copies.
detail::JwsView parse_view(std::string_view token, const JwsOptions& options, bool fill_copies) {
  if (token.size() > kMaxJwsSize) fail("token larger than 16 KiB");
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    fail("compact JWS must have exactly three parts");
  const std::string_view h64 = token.substr(0, d1);
  const std::string_view p64 = token.substr(d1 + 1, d2 - d1 - 1);
  const std::string_view s64 = token.substr(d2 + 1);
  if (h64.empty()) fail("empty header");

  detail::JwsView v;
  ParsedJws& out = v.parsed;
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
  if (fill_copies || !options.require_json_payload) out.payload_bytes = std::move(*payload);

  auto sig = core::base64url_decode(s64);
  if (!sig) fail("signature is not canonical base64url");
  out.signature = std::move(*sig);
  v.signing_input = token.substr(0, d2);
  if (fill_copies) out.signing_input = std::string(v.signing_input);
  return v;
}

}  // namespace

namespace detail {

JwsView parse_jws_view(std::string_view token, const JwsOptions& options) {
  return parse_view(token, options, false);
}

VerifyResult verify_parsed(JwsView& jws, const PublicKey& key, const VerifyOptions& options) {
  VerifyResult r;
  try {
    const Alg alg = jws.parsed.alg;
    if (!key.use().empty() && key.use() != "sig") {
      r.reason = "jws: key is not a signing key (use=" + key.use() + ")";
      return r;
    }
    if (!key_fits(key, alg)) {
      r.reason = "jws: alg " + std::string(alg_name(alg)) + " does not fit the key type";
      return r;
    }
    if (!key.alg().empty() && key.alg() != alg_name(alg)) {
      r.reason = "jws: alg " + std::string(alg_name(alg)) + " differs from the key's alg " +
                 key.alg();
      return r;
    }
    if (jws.parsed.kid && !key.kid().empty() && *jws.parsed.kid != key.kid()) {
      r.reason = "jws: token kid does not match the key's kid";
      return r;
    }
    if (!verify(key, alg, jws.signing_input, jws.parsed.signature)) {
      r.reason = "jws: signature verification failed";
      return r;
    }
    if (auto bad = check_claims(jws.parsed.payload, options.claims)) {
      r.reason = *bad;
      return r;
    }
    r.ok = true;
    r.header = std::move(jws.parsed.header);
    r.payload = std::move(jws.parsed.payload);
  } catch (const JoseError& e) {
    r.reason = e.what();
  } catch (const std::exception& e) {
    r.reason = std::string("jws: internal error: ") + e.what();
  }
  return r;
}

}  // namespace detail

ParsedJws parse_jws(std::string_view token, const JwsOptions& options) {
  return std::move(parse_view(token, options, true).parsed);
}

VerifyResult verify_jws(std::string_view token, const PublicKey& key,
                        const VerifyOptions& options) {
  try {
    detail::JwsView jws = detail::parse_jws_view(token, options.jws);
    return detail::verify_parsed(jws, key, options);  // catches its own errors
  } catch (const JoseError& e) {
    VerifyResult r;
    r.reason = e.what();
    return r;
  } catch (const std::exception& e) {
    VerifyResult r;
    r.reason = std::string("jws: internal error: ") + e.what();
    return r;
  }
}

}  // namespace pc::jose
