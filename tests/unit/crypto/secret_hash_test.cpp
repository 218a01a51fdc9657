#include "crypto/secret_hash.h"

#include <gtest/gtest.h>

#include "core/base64url.h"

#include <regex>

#include "crypto/random.h"

namespace pc::crypto {
namespace {

TEST(SecretHash, HasTheVersionedFormat) {
  std::string h = hash_secret("s3cret");
  // 16-byte salt -> 22 characters, 32-byte digest -> 43 characters.
  EXPECT_TRUE(std::regex_match(h, std::regex(R"(^s256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$)"))) << h;
}

TEST(SecretHash, RoundTrips) {
  std::string secret = random_token(32);
  std::string stored = hash_secret(secret);
  EXPECT_TRUE(verify_secret(secret, stored));
  EXPECT_TRUE(verify_secret("", hash_secret("")));
}

TEST(SecretHash, IsSaltedSoEqualSecretsStoreDifferently) {
  std::string a = hash_secret("same"), b = hash_secret("same");
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_secret("same", a));
  EXPECT_TRUE(verify_secret("same", b));
}

TEST(SecretHash, MatchesTheDocumentedConstruction) {
  // Digest computed independently: printf saltsaltsaltsaltabc | sha256sum, as base64url.
  std::string stored = "s256$" + core::base64url_encode("saltsaltsaltsalt") +
                       "$U0922EIbTVGxBp0GJbDfrxYv5mhr2-TCAP1zArNLhV4";
  EXPECT_TRUE(verify_secret("abc", stored));
}

TEST(SecretHash, WrongSecretFails) {
  std::string stored = hash_secret("right");
  EXPECT_FALSE(verify_secret("wrong", stored));
  EXPECT_FALSE(verify_secret("righ", stored));
  EXPECT_FALSE(verify_secret("right ", stored));
  EXPECT_FALSE(verify_secret("", stored));
}

// Flips one character of `s` at `pos` to another valid base64url character.
std::string tamper(std::string s, std::size_t pos) {
  s[pos] = s[pos] == 'A' ? 'B' : 'A';
  return s;
}

TEST(SecretHash, TamperedSaltOrHashFails) {
  std::string stored = hash_secret("secret");
  std::size_t salt_at = 5, hash_at = stored.rfind('$') + 1;
  EXPECT_FALSE(verify_secret("secret", tamper(stored, salt_at)));
  EXPECT_FALSE(verify_secret("secret", tamper(stored, hash_at)));
  EXPECT_FALSE(verify_secret("secret", tamper(stored, hash_at + 10)));
}

TEST(SecretHash, MalformedStoredValuesFail) {
  std::string good = hash_secret("x");
  std::string salt = good.substr(5, 22), digest = good.substr(28);
  for (const std::string& bad : {
           std::string(),
           std::string("x"),
           std::string("s256$"),
           std::string("s256$$"),
           "s256$" + salt,                                // no digest part
           "s256$" + salt + "$",                          // empty digest
           "s256$$" + digest,                             // empty salt
           "s512$" + salt + "$" + digest,                 // unknown scheme
           "S256$" + salt + "$" + digest,                 // prefix is case-sensitive
           "s256$" + salt + "$" + digest + "$",           // extra separator
           "s256$" + salt + "$" + digest + "A",           // digest too long
           "s256$" + salt + "$" + digest.substr(1),       // digest too short
           "s256$" + salt.substr(2) + "$" + digest,       // salt too short
           "s256$" + salt + "==$" + digest,               // padding
           "s256$" + salt + "$" + digest.substr(0, 42) + "+",  // wrong alphabet
       })
    EXPECT_FALSE(verify_secret("x", bad)) << bad;
  EXPECT_TRUE(verify_secret("x", good));
}

}  // namespace
}  // namespace pc::crypto
