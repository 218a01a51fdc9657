// JWS parsing, header rules and the verify_jws chain: one test per rejection, each asserting its
// reason, plus Wycheproof's json_web_crypto vectors.
#include "jose/jws.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <openssl/evp.h>

#include "core/base64url.h"
#include "jose/jws_test_util.h"
#include "jose/sign.h"

namespace pc::jose {
namespace {

namespace json = boost::json;
using testing::good_payload;
using testing::kNow;
using testing::opts;
using testing::sign_raw;

const PrivateKey& es_key() {
  static const PrivateKey k = PrivateKey::generate(Alg::ES256, "es-1");
  return k;
}
const PrivateKey& ed_key() {
  static const PrivateKey k = PrivateKey::generate(Alg::EdDSA, "ed-1");
  return k;
}


const char* kHdr = R"({"alg":"ES256","kid":"es-1","typ":"JWT"})";

std::string token_with_header(std::string_view header) {
  return sign_raw(es_key(), header, good_payload());
}

void expect_parse_error(std::string_view token, const std::string& part,
                        const JwsOptions& o = {}) {
  try {
    parse_jws(token, o);
    ADD_FAILURE() << "accepted " << token.substr(0, 200);
  } catch (const JoseError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// Through the whole chain, so a token rejected by the header rules is also rejected by verify_jws
// even though its signature is genuine.
void expect_verify_error(std::string_view token, const std::string& part,
                         const PublicKey& key, const VerifyOptions& o = opts()) {
  auto r = verify_jws(token, key, o);
  EXPECT_FALSE(r.ok) << "accepted " << token.substr(0, 200);
  EXPECT_NE(r.reason.find(part), std::string::npos) << r.reason;
}

void expect_header_rejected(std::string_view header, const std::string& part) {
  const std::string t = token_with_header(header);
  expect_parse_error(t, part);
  expect_verify_error(t, part, parse_jwk(es_key().public_jwk()));
}

void expect_header_accepted(std::string_view header, bool key_has_kid = true) {
  auto jwk = es_key().public_jwk();
  if (!key_has_kid) jwk.erase("kid");
  auto r = verify_jws(token_with_header(header), parse_jwk(jwk), opts());
  EXPECT_TRUE(r.ok) << header << ": " << r.reason;
}

TEST(Jws, BaselineAccepted) { expect_header_accepted(kHdr); }

TEST(JwsAttack, AlgNoneAnyCase) {
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    const std::string h = std::string(R"({"alg":")") + none + R"(","typ":"JWT"})";
    expect_header_rejected(h, "alg none is not allowed");
    // The classic form: no signature at all.
    const std::string unsigned_token = core::base64url_encode(h) + "." +
                                       core::base64url_encode(good_payload()) + ".";
    expect_parse_error(unsigned_token, "alg none is not allowed");
    expect_verify_error(unsigned_token, "alg none is not allowed",
                        parse_jwk(es_key().public_jwk()));
  }
}

TEST(JwsAttack, Hs256WithPublicKey) {
  // Key confusion: a genuine HMAC-SHA256 keyed with the public key's JWK text, and with its
  // raw x coordinate, as a confused verifier might "verify" it.
  const std::string h = R"({"alg":"HS256","typ":"JWT"})";
  const std::string input = core::base64url_encode(h) + "." + core::base64url_encode(good_payload());
  const auto jwk = es_key().public_jwk();
  for (const std::string& secret :
       {json::serialize(jwk), *core::base64url_decode(jwk.at("x").as_string())}) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t mac_len = 0;
    ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                        reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                        sizeof mac, &mac_len),
              nullptr);
    const std::string token =
        input + "." + core::base64url_encode(std::string(reinterpret_cast<char*>(mac), mac_len));
    expect_parse_error(token, "HMAC alg 'HS256' is not allowed");
    expect_verify_error(token, "HMAC alg 'HS256' is not allowed", parse_jwk(jwk));
  }
  for (const char* hs : {"HS384", "HS512", "hs256"})
    expect_header_rejected(std::string(R"({"alg":")") + hs + R"("})", "HMAC alg");
}

TEST(JwsAttack, AlgMissingNonStringUnknown) {
  expect_header_rejected(R"({"typ":"JWT"})", "missing alg");
  expect_header_rejected(R"({"alg":["ES256"]})", "alg is not a string");
  expect_header_rejected(R"({"alg":null})", "alg is not a string");
  expect_header_rejected(R"({"alg":"es256"})", "unsupported alg");
  expect_header_rejected(R"({"alg":"ES256K"})", "unsupported alg");
  expect_header_rejected(R"({"alg":"RSA-OAEP"})", "unsupported alg");
}

TEST(JwsAttack, EmbeddedJwk) {
  const std::string jwk = json::serialize(ed_key().public_jwk());
  expect_header_rejected(R"({"alg":"ES256","jwk":)" + jwk + "}", "header carries a key ('jwk')");
}

TEST(JwsAttack, Jku) {
  expect_header_rejected(R"({"alg":"ES256","jku":"https://evil.example/jwks"})",
                         "header carries a key ('jku')");
}

TEST(JwsAttack, X5u) {
  expect_header_rejected(R"({"alg":"ES256","x5u":"https://evil.example/cert"})",
                         "header carries a key ('x5u')");
}

TEST(JwsAttack, X5c) {
  expect_header_rejected(R"({"alg":"ES256","x5c":["MIIB"]})", "header carries a key ('x5c')");
}

TEST(Jws, X5tIsIgnored) {
  expect_header_accepted(R"({"alg":"ES256","x5t":"abc","x5t#S256":"def"})");
}

TEST(JwsAttack, CritEmpty) {
  expect_header_rejected(R"({"alg":"ES256","crit":[]})", "crit is empty");
}

TEST(JwsAttack, CritUnknown) {
  expect_header_rejected(R"({"alg":"ES256","crit":["exp"],"exp":1})",
                         "crit names an unsupported extension");
  expect_header_rejected(R"({"alg":"ES256","crit":["b64"],"b64":false})",
                         "crit names an unsupported extension");
}

TEST(JwsAttack, CritNotArray) {
  expect_header_rejected(R"({"alg":"ES256","crit":"exp"})", "crit is not an array");
  expect_header_rejected(R"({"alg":"ES256","crit":null})", "crit is not an array");
}

TEST(JwsAttack, TypWrong) {
  for (const char* typ : {"JOSE", "secevent+jwt", "application/jose", "JWS", "jwt ", "at+JWT+x",
                          "application/", "applicationjwt", "text/jwt", ""})
    expect_header_rejected(std::string(R"({"alg":"ES256","typ":")") + typ + R"("})",
                           "is not JWT or at+jwt");
  expect_header_rejected(R"({"alg":"ES256","typ":1})", "typ is not a string");
}

TEST(Jws, TypAcceptedSpellings) {
  for (const char* typ : {"JWT", "jwt", "Jwt", "at+jwt", "AT+JWT", "application/at+jwt",
                          "application/jwt", "APPLICATION/JWT", "Application/At+Jwt"})
    expect_header_accepted(std::string(R"({"alg":"ES256","typ":")") + typ + R"("})");
}

TEST(Jws, TypMissingAcceptedUnlessRequired) {
  const std::string t = token_with_header(R"({"alg":"ES256"})");
  EXPECT_NO_THROW(parse_jws(t));
  JwsOptions strict;
  strict.require_typ = true;
  expect_parse_error(t, "missing typ", strict);
  auto o = opts();
  o.jws.require_typ = true;
  expect_verify_error(t, "missing typ", parse_jwk(es_key().public_jwk()), o);
}

TEST(JwsAttack, CtyJwtNested) {
  for (const char* cty : {"JWT", "jwt", "application/JWT", "Application/jwt"})
    expect_header_rejected(std::string(R"({"alg":"ES256","cty":")") + cty + R"("})",
                           "nested token");
  expect_header_rejected(R"({"alg":"ES256","cty":7})", "cty is not a string");
  expect_header_accepted(R"({"alg":"ES256","cty":"json"})");
}

TEST(JwsAttack, KidTooLong) {
  expect_header_rejected(R"({"alg":"ES256","kid":")" + std::string(257, 'k') + R"("})",
                         "kid length must be 1..256");
  expect_header_rejected(R"({"alg":"ES256","kid":""})", "kid length must be 1..256");
  expect_header_accepted(R"({"alg":"ES256","kid":")" + std::string(256, 'k') + R"("})",
                         /*key_has_kid=*/false);
}

TEST(JwsAttack, KidNotString) {
  expect_header_rejected(R"({"alg":"ES256","kid":1})", "kid is not a string");
  expect_header_rejected(R"({"alg":"ES256","kid":["es-1"]})", "kid is not a string");
}

TEST(JwsAttack, DuplicateMemberInHeader) {
  // Boost.JSON would keep the last "alg"; a verifier keeping the first would disagree.
  expect_header_rejected(R"({"alg":"none","alg":"ES256"})", "duplicate member name");
  expect_header_rejected(R"({"alg":"ES256","kid":"a","kid":"b"})", "duplicate member name");
  // Same name after unescaping.
  expect_header_rejected(R"({"alg":"ES256","\u0061lg":"ES256"})", "duplicate member name");
  // Nested duplicate.
  expect_header_rejected(R"({"alg":"ES256","x":{"a":1,"a":2}})", "duplicate member name");
  // Same name in sibling objects is fine.
  expect_header_accepted(R"({"alg":"ES256","x":{"a":1},"y":{"a":2}})");
}

TEST(JwsAttack, DuplicateMemberInPayload) {
  const std::string payload =
      R"({"iss":"https://issuer.example","aud":"portcullis","exp":1700000600,"sub":"a","sub":"admin"})";
  const std::string t = sign_raw(es_key(), kHdr, payload);
  expect_parse_error(t, "payload: json: duplicate member name");
  expect_verify_error(t, "duplicate member name", parse_jwk(es_key().public_jwk()));
}

TEST(JwsAttack, JsonDepthLimit) {
  std::string deep = R"({"alg":"ES256","x":)";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  expect_header_rejected(deep, "invalid JSON");
}

TEST(JwsAttack, TwoPartsRejected) {
  const std::string t = token_with_header(kHdr);
  expect_parse_error(t.substr(0, t.rfind('.')), "exactly three parts");
}

TEST(JwsAttack, FourPartsRejected) {
  const std::string t = token_with_header(kHdr);
  expect_parse_error(t + ".", "exactly three parts");
  expect_parse_error(t + ".e30", "exactly three parts");
  expect_parse_error("a.b.c.d.e", "exactly three parts");
  expect_parse_error("", "exactly three parts");
}

TEST(JwsAttack, PaddingInParts) {
  // A header whose base64url length needs padding: 31 bytes -> 42 chars + "==" padding.
  const std::string h = R"({"alg":"ES256","kid":"kk"     })";
  ASSERT_EQ(h.size() % 3, 1u);
  std::string t = token_with_header(h);
  const auto d1 = t.find('.');
  expect_parse_error(t.substr(0, d1) + "==" + t.substr(d1), "header is not canonical base64url");
  const auto d2 = t.rfind('.');
  expect_parse_error(t.substr(0, d2) + "=" + t.substr(d2), "payload is not canonical base64url");
  expect_parse_error(t + "=", "signature is not canonical base64url");
}

TEST(JwsAttack, WhitespaceInParts) {
  const std::string t = token_with_header(kHdr);
  const auto d1 = t.find('.');
  const auto d2 = t.rfind('.');
  expect_parse_error(" " + t, "header is not canonical base64url");
  expect_parse_error(t.substr(0, d1) + ". " + t.substr(d1 + 1), "payload is not canonical");
  expect_parse_error(t.substr(0, d2 + 1) + "\n" + t.substr(d2 + 1), "signature is not canonical");
  expect_parse_error(t + " ", "signature is not canonical base64url");
  std::string mid = t;
  mid.insert(d1 / 2, "\t");
  expect_parse_error(mid, "header is not canonical base64url");
}

TEST(JwsAttack, NonObjectPayload) {
  for (const char* p : {"[]", "\"str\"", "42", "null", "true", "foo", ""}) {
    const std::string t = sign_raw(es_key(), kHdr, p);
    expect_parse_error(t, "payload: json:");
    expect_verify_error(t, "payload: json:", parse_jwk(es_key().public_jwk()));
  }
}

TEST(JwsAttack, NonObjectHeader) {
  expect_parse_error(token_with_header(R"(["alg","ES256"])"), "header: json: not an object");
  expect_parse_error(token_with_header(R"({"alg":"ES256"} )" "x"), "header: json: invalid JSON");
}

TEST(JwsAttack, TokenOver16KiB) {
  std::string payload = R"({"iss":"https://issuer.example","aud":"portcullis","exp":1700000600,"pad":")";
  payload += std::string(13 * 1024, 'a') + "\"}";
  const std::string t = sign_raw(es_key(), kHdr, payload);
  ASSERT_GT(t.size(), kMaxJwsSize);
  expect_parse_error(t, "token larger than 16 KiB");
  expect_verify_error(t, "token larger than 16 KiB", parse_jwk(es_key().public_jwk()));
  // Just under the cap is fine.
  std::string small = R"({"iss":"https://issuer.example","aud":"portcullis","exp":1700000600,"pad":")";
  small += std::string(11 * 1024, 'a') + "\"}";
  const std::string ok = sign_raw(es_key(), kHdr, small);
  ASSERT_LE(ok.size(), kMaxJwsSize);
  EXPECT_NO_THROW(parse_jws(ok));
}

TEST(JwsAttack, OneMiBTokenRejectedBySizeBeforeAnyDecoding) {
  // The reason proves the order: the size cap answers before the parts are split or decoded,
  // even for a token whose three parts would otherwise decode (speed itself is a benchmark's
  // business, not a timed test's).
  expect_parse_error(std::string(1024 * 1024, 'A'), "token larger than 16 KiB");
  const std::string part(512 * 1024, 'A');
  expect_parse_error(part + "." + part + ".AAAA", "token larger than 16 KiB");
}

TEST(JwsAttack, TamperedPayload) {
  const auto pub = parse_jwk(es_key().public_jwk());
  const std::string t = token_with_header(kHdr);
  const auto d1 = t.find('.');
  const auto d2 = t.rfind('.');
  const std::string evil = core::base64url_encode(
      R"({"iss":"https://issuer.example","aud":"portcullis","sub":"admin","exp":1700000600})");
  expect_verify_error(t.substr(0, d1 + 1) + evil + t.substr(d2), "signature verification failed",
                      pub);
}

TEST(JwsAttack, TamperedHeader) {
  const auto pub = parse_jwk(es_key().public_jwk());
  const std::string t = token_with_header(kHdr);
  const std::string other = core::base64url_encode(R"({"alg":"ES256","kid":"es-1","typ":"at+jwt"})");
  expect_verify_error(other + t.substr(t.find('.')), "signature verification failed", pub);
}

TEST(JwsAttack, KidDoesNotMatchKey) {
  const std::string t = token_with_header(R"({"alg":"ES256","kid":"es-2"})");
  expect_verify_error(t, "kid does not match", parse_jwk(es_key().public_jwk()));
  // A key without kid is matched by the caller; the token's kid is then not compared.
  auto jwk = es_key().public_jwk();
  jwk.erase("kid");
  EXPECT_TRUE(verify_jws(t, parse_jwk(jwk), opts()).ok);
}

TEST(JwsAttack, SignatureFromAnotherKey) {
  auto other = PrivateKey::generate(Alg::ES256, "es-1");  // same kid, different key
  const std::string t = sign_raw(other, kHdr, good_payload());
  expect_verify_error(t, "signature verification failed", parse_jwk(es_key().public_jwk()));
  auto other_ed = PrivateKey::generate(Alg::EdDSA, "ed-1");
  const std::string t2 = sign_raw(other_ed, R"({"alg":"EdDSA"})", good_payload());
  expect_verify_error(t2, "signature verification failed", parse_jwk(ed_key().public_jwk()));
}

TEST(JwsAttack, AlgDoesNotFitKeyType) {
  // An EdDSA-signed token presented against an EC key, and vice versa.
  const std::string t = sign_raw(ed_key(), R"({"alg":"EdDSA"})", good_payload());
  expect_verify_error(t, "does not fit the key type", parse_jwk(es_key().public_jwk()));
  expect_verify_error(token_with_header(kHdr), "does not fit the key type",
                      parse_jwk(ed_key().public_jwk()));
}

TEST(JwsAttack, AlgDiffersFromJwkAlg) {
  // A P-256 JWK that declares ES256 can't be used with another alg even if the type fits; here the
  // JWK lies about its alg (ES384 on P-256) so the genuine ES256 token must still be refused.
  auto jwk = es_key().public_jwk();
  jwk["alg"] = "ES384";
  expect_verify_error(token_with_header(kHdr), "differs from the key's alg", parse_jwk(jwk));
}

TEST(JwsAttack, KeyUseNotSig) {
  auto jwk = es_key().public_jwk();
  jwk["use"] = "enc";
  expect_verify_error(token_with_header(kHdr), "not a signing key", parse_jwk(jwk));
}

TEST(JwsAttack, EmptyOrWrongLengthSignature) {
  const std::string t = token_with_header(kHdr);
  const std::string input = t.substr(0, t.rfind('.'));
  expect_parse_error(input + ".", "empty signature");
  expect_verify_error(input + "." + core::base64url_encode(std::string(63, '\1')),
                      "signature verification failed", parse_jwk(es_key().public_jwk()));
  // r = s = 0 ("psychic signature").
  expect_verify_error(input + "." + core::base64url_encode(std::string(64, '\0')),
                      "signature verification failed", parse_jwk(es_key().public_jwk()));
}

// Claims through the chain (claims_test covers every rule in isolation).
TEST(JwsClaims, ChainChecksClaims) {
  const auto pub = parse_jwk(es_key().public_jwk());
  auto t = [&](std::string_view payload) { return sign_raw(es_key(), kHdr, payload); };
  expect_verify_error(
      t(R"({"iss":"https://issuer.example","aud":"portcullis","exp":1699999999})"),
      "claims: token expired", pub);
  expect_verify_error(
      t(R"({"iss":"https://issuer.example","aud":"portcullis","exp":1700000600,"nbf":1700000100})"),
      "claims: token not yet valid", pub);
  expect_verify_error(
      t(R"({"iss":"https://issuer.example","aud":"portcullis","exp":1700000600,"iat":1700000100})"),
      "claims: iat is in the future", pub);
  expect_verify_error(t(R"({"iss":"https://evil.example","aud":"portcullis","exp":1700000600})"),
                      "claims: wrong issuer", pub);
  expect_verify_error(t(R"({"iss":"https://issuer.example","aud":"other","exp":1700000600})"),
                      "claims: wrong audience", pub);
  expect_verify_error(t(R"({"iss":"https://issuer.example","aud":["a","b"],"exp":1700000600})"),
                      "claims: wrong audience", pub);
  expect_verify_error(t(R"({"iss":"https://issuer.example","aud":{"x":1},"exp":1700000600})"),
                      "claims: aud is not a string or array", pub);
  expect_verify_error(t(R"({"iss":"https://issuer.example","aud":"portcullis"})"),
                      "claims: missing exp", pub);
  expect_verify_error(t(R"({"iss":"https://issuer.example","aud":"portcullis","exp":"1700000600"})"),
                      "claims: exp is not a number", pub);
  expect_verify_error(t(R"({"iss":"https://issuer.example","aud":"portcullis","exp":-1})"),
                      "claims: exp is out of range", pub);
  expect_verify_error(t(R"({"iss":"https://issuer.example","aud":"portcullis","exp":1e20})"),
                      "claims: exp is out of range", pub);
  // Overflowing literal: rejected either by the JSON parser or by the range check.
  auto r = verify_jws(t(R"({"iss":"https://issuer.example","aud":"portcullis","exp":1e400})"), pub,
                      opts());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.reason.empty());
}

TEST(JwsClaims, LeewayBoundaryThroughChain) {
  const auto pub = parse_jwk(es_key().public_jwk());
  const std::string t =
      sign_raw(es_key(), kHdr, R"({"iss":"https://issuer.example","aud":"portcullis","exp":1699999971})");
  auto o = opts();
  o.claims.leeway_seconds = 30;  // now - leeway = 1699999970 < 1699999971
  EXPECT_TRUE(verify_jws(t, pub, o).ok);
  o.claims.leeway_seconds = 29;  // now - leeway = 1699999971, not < exp
  expect_verify_error(t, "claims: token expired", pub, o);
}

TEST(JwsAttack, EveryByteMutationIsRejectedWithoutCrash) {
  // Replacing any single character of a valid token (with a few probe characters) must never
  // yield an accepted token, except for the changes that leave the token equal.
  const auto pub = parse_jwk(es_key().public_jwk());
  const std::string t = token_with_header(kHdr);
  ASSERT_TRUE(verify_jws(t, pub, opts()).ok);
  int tried = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    for (char c : {'A', '_', '.', '=', ' ', '\0', '\xff'}) {
      if (t[i] == c) continue;
      std::string m = t;
      m[i] = c;
      ++tried;
      EXPECT_FALSE(verify_jws(m, pub, opts()).ok) << "position " << i << " char " << int(c);
    }
  }
  EXPECT_GT(tried, 0);
}

// --- Wycheproof json_web_crypto_test.json ---------------------------------------------------

namespace fs = std::filesystem;

fs::path vector_dir() {
  if (const char* env = std::getenv("WYCHEPROOF_DIR"); env && *env) return env;
  return PORTCULLIS_WYCHEPROOF_DIR;
}

TEST(WycheproofJwc, JwsGroups) {
  const fs::path path = vector_dir() / "json_web_crypto_test.json";
  std::ifstream in(path);
  if (!in) FAIL() << "Wycheproof vectors not found at " << path << " (tests/testdata/wycheproof, or WYCHEPROOF_DIR)";
  std::stringstream text;
  text << in.rdbuf();
  const json::object file = json::parse(text.str()).as_object();

  int run = 0, valid_ok = 0, invalid_ok = 0, skipped_jwe = 0, skipped_hmac = 0, skipped_groups = 0,
      rejected_keys = 0;
  for (const auto& gv : file.at("testGroups").as_array()) {
    const auto& g = gv.as_object();
    const std::string comment(g.at("comment").as_string());
    const auto& tests = g.at("tests").as_array();
    if (comment.rfind("jwe", 0) == 0) {
      skipped_jwe += int(tests.size());
      ++skipped_groups;
      continue;
    }
    // HMAC groups (oct keys, possibly in a keyset) have no public key: JWS HMAC is unsupported
    // by design.
    if (!g.contains("public")) {
      skipped_hmac += int(tests.size());
      ++skipped_groups;
      continue;
    }
    std::optional<PublicKey> key;
    try {
      key.emplace(parse_jwk(g.at("public").as_object()));
    } catch (const JoseError& e) {
      ++rejected_keys;  // e.g. the ROCA key: every token under it counts as rejected
      std::cout << "[ wycheproof ] group " << comment << ": key rejected: " << e.what() << "\n";
    }
    for (const auto& tv : tests) {
      const auto& t = tv.as_object();
      const std::string result(t.at("result").as_string());
      // The JSON serialization arrives as an object; we only accept compact, so hand over its
      // text, which must be rejected.
      const auto& jws = t.at("jws");
      const std::string token = jws.is_string() ? std::string(jws.as_string())
                                                : json::serialize(jws);
      bool accepted = false;
      if (key) try {
        JwsOptions o;
        o.require_json_payload = false;  // the vectors sign the bytes "foo"
        const ParsedJws p = parse_jws(token, o);
        accepted = verify(*key, p.alg, p.signing_input, p.signature) &&
                   (key->alg().empty() || key->alg() == alg_name(p.alg));
      } catch (const JoseError&) {
        accepted = false;
      }
      ++run;
      const auto id = t.at("tcId").as_int64();
      if (result == "valid") {
        EXPECT_TRUE(accepted) << "tcId " << id << " " << t.at("comment").as_string();
        valid_ok += accepted;
      } else if (result == "invalid") {
        EXPECT_FALSE(accepted) << "tcId " << id << " " << t.at("comment").as_string();
        invalid_ok += !accepted;
      }
    }
  }
  std::cout << "[ wycheproof ] json_web_crypto: " << run << " JWS cases run (" << valid_ok
            << " valid accepted, " << invalid_ok << " invalid rejected); skipped "
            << skipped_groups << " groups: " << skipped_jwe << " JWE cases, " << skipped_hmac
            << " HMAC cases; " << rejected_keys << " group keys rejected\n";
  EXPECT_GT(run, 0);
}

}  // namespace
}  // namespace pc::jose
