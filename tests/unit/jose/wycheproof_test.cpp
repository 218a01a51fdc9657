// Signature verification against Wycheproof vectors (see tests/testdata/wycheproof/README.md):
// every `valid` case must verify, every `invalid` one must be rejected, `acceptable` ones may go
// either way but must not crash. The vectors are in the repository; a missing file fails.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/base64url.h"
#include "jose/jwk.h"
#include "jose/test_util.h"
#include "jose/verify.h"

namespace pc::jose {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::unhex;

fs::path vector_dir() {
  if (const char* env = std::getenv("WYCHEPROOF_DIR"); env && *env) return env;
  return PORTCULLIS_WYCHEPROOF_DIR;
}

// Loads a vector file, or returns null with `why` set when it is not there.
std::optional<json::object> load(const std::string& name, std::string& why) {
  const fs::path path = vector_dir() / name;
  std::ifstream in(path);
  if (!in) {
    why = "Wycheproof vectors not found at " + path.string() + " (tests/testdata/wycheproof, or WYCHEPROOF_DIR)";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

std::string str(const json::object& o, const char* key) {
  return std::string(o.at(key).as_string());
}

// The group's key as a JWK: the one Wycheproof ships (keyJwk / publicKeyJwk) when present,
// otherwise built from the raw public key fields.
json::object group_jwk(const json::object& group) {
  for (const char* k : {"publicKeyJwk", "keyJwk"})
    if (const auto* j = group.if_contains(k)) return j->as_object();
  const auto& pk = group.at("publicKey").as_object();
  if (pk.contains("modulus")) {
    // ASN.1 integers carry a leading 00 when the top bit is set; JWK wants it stripped.
    auto n = unhex(str(pk, "modulus"));
    while (n.size() > 1 && n[0] == '\0') n.erase(0, 1);
    return {{"kty", "RSA"}, {"n", core::base64url_encode(n)},
            {"e", core::base64url_encode(unhex(str(pk, "publicExponent")))}};
  }
  if (pk.contains("uncompressed")) {
    const auto point = unhex(str(pk, "uncompressed"));  // 04 || x || y
    const std::size_t len = (point.size() - 1) / 2;
    const std::string curve = str(pk, "curve");
    const char* crv = curve == "secp256r1" ? "P-256" : curve == "secp384r1" ? "P-384" : "P-521";
    return {{"kty", "EC"}, {"crv", crv}, {"x", core::base64url_encode(point.substr(1, len))},
            {"y", core::base64url_encode(point.substr(1 + len, len))}};
  }
  return {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", core::base64url_encode(unhex(str(pk, "pk")))}};
}

struct Case {
  const char* file;
  Alg alg;
  int min_tests;  // the file's numberOfTests at commit dac1dd47: catches a truncated run
};

struct Counts {
  int valid_ok = 0, valid_total = 0, invalid_rejected = 0, invalid_total = 0;
  int acceptable = 0, skipped_groups = 0;
  int total() const { return valid_total + invalid_total + acceptable; }
};

class Wycheproof : public ::testing::TestWithParam<Case> {};

TEST_P(Wycheproof, Verifies) {
  const Case& c = GetParam();
  std::string why;
  auto file = load(c.file, why);
  if (!file) FAIL() << why;  // the vectors are in the repository: missing is a failure

  Counts n;
  for (const auto& gv : file->at("testGroups").as_array()) {
    const auto& group = gv.as_object();
    // JWS PS* fixes the salt length to the hash length (RFC 7518 §3.5); other groups are not JWS.
    if (const auto* slen = group.if_contains("sLen"); slen && slen->to_number<int>() != 32) {
      ++n.skipped_groups;
      continue;
    }
    std::optional<PublicKey> key;
    try {
      key.emplace(parse_jwk(group_jwk(group)));
    } catch (const JoseError& e) {
      ADD_FAILURE() << c.file << ": group key rejected: " << e.what();
      continue;
    }
    for (const auto& tv : group.at("tests").as_array()) {
      const auto& t = tv.as_object();
      const std::string result = str(t, "result");
      const bool ok = verify(*key, c.alg, unhex(str(t, "msg")), unhex(str(t, "sig")));
      const auto id = t.at("tcId").as_int64();
      if (result == "valid") {
        ++n.valid_total;
        n.valid_ok += ok;
        EXPECT_TRUE(ok) << c.file << " tcId " << id << ": " << str(t, "comment");
      } else if (result == "invalid") {
        ++n.invalid_total;
        n.invalid_rejected += !ok;
        EXPECT_FALSE(ok) << c.file << " tcId " << id << ": " << str(t, "comment");
      } else {
        ++n.acceptable;  // either outcome is fine; reaching here means no crash
      }
    }
  }
  std::cout << "[ wycheproof ] " << c.file << ": valid " << n.valid_ok << "/" << n.valid_total
            << " verified, invalid " << n.invalid_rejected << "/" << n.invalid_total
            << " rejected, acceptable " << n.acceptable << ", skipped groups "
            << n.skipped_groups << "\n";
  EXPECT_GE(n.total(), c.min_tests) << "fewer tests ran than the file holds";
}

INSTANTIATE_TEST_SUITE_P(
    Files, Wycheproof,
    ::testing::Values(Case{"rsa_signature_2048_sha256_test.json", Alg::RS256, 259},
                      Case{"rsa_signature_3072_sha256_test.json", Alg::RS256, 259},
                      Case{"rsa_signature_4096_sha256_test.json", Alg::RS256, 258},
                      // mgf1_0 (salt length 0) is deliberately absent: not a valid JWS PS256
                      // salt; see Salt0IsNotPs256 below.
                      Case{"rsa_pss_2048_sha256_mgf1_32_test.json", Alg::PS256, 108},
                      Case{"rsa_pss_3072_sha256_mgf1_32_test.json", Alg::PS256, 108},
                      Case{"rsa_pss_4096_sha256_mgf1_32_test.json", Alg::PS256, 108},
                      Case{"ecdsa_secp256r1_sha256_p1363_test.json", Alg::ES256, 262},
                      Case{"ecdsa_secp384r1_sha384_p1363_test.json", Alg::ES384, 280},
                      Case{"ecdsa_secp521r1_sha512_p1363_test.json", Alg::ES512, 318},
                      Case{"ed25519_test.json", Alg::EdDSA, 151}),
    [](const auto& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find("_test.json"));
      for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return name;
    });

// PS256 requires a 32-byte salt, so the file's `valid` salt-length-0 signatures must all be
// rejected by a JWS verifier. (Its `invalid` cases are not checked: some, e.g. "s_len changed to
// 32", are exactly valid PS256 signatures.)
TEST(WycheproofExtra, Salt0IsNotPs256) {
  std::string why;
  auto file = load("rsa_pss_2048_sha256_mgf1_0_test.json", why);
  if (!file) FAIL() << why;  // the vectors are in the repository: missing is a failure
  int ran = 0;
  for (const auto& gv : file->at("testGroups").as_array()) {
    const auto& group = gv.as_object();
    auto key = parse_jwk(group_jwk(group));
    for (const auto& tv : group.at("tests").as_array()) {
      const auto& t = tv.as_object();
      if (str(t, "result") != "valid") continue;
      ++ran;
      EXPECT_FALSE(verify(key, Alg::PS256, unhex(str(t, "msg")), unhex(str(t, "sig"))))
          << "tcId " << t.at("tcId").as_int64();
    }
  }
  EXPECT_GE(ran, 61);
}

// The same keys under a mismatched alg must never verify (key/alg confusion).
TEST(WycheproofExtra, ValidSignaturesFailUnderOtherAlg) {
  std::string why;
  auto file = load("ecdsa_secp256r1_sha256_p1363_test.json", why);
  if (!file) FAIL() << why;  // the vectors are in the repository: missing is a failure
  int ran = 0;
  for (const auto& gv : file->at("testGroups").as_array()) {
    const auto& group = gv.as_object();
    auto key = parse_jwk(group_jwk(group));
    for (const auto& tv : group.at("tests").as_array()) {
      const auto& t = tv.as_object();
      if (str(t, "result") != "valid") continue;
      const auto msg = unhex(str(t, "msg")), sig = unhex(str(t, "sig"));
      for (Alg other : {Alg::ES384, Alg::ES512, Alg::RS256, Alg::PS256, Alg::EdDSA}) {
        ++ran;
        EXPECT_FALSE(verify(key, other, msg, sig));
      }
    }
  }
  EXPECT_GT(ran, 0);
}

}  // namespace
}  // namespace pc::jose
