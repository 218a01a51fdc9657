// verify() beyond the Wycheproof files: the algs those files do not cover (RS384/512, PS384/512),
// and the per-thread cache of prepared contexts (shared keys, freed keys, eviction).
#include "jose/verify.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/base64url.h"
#include "jose/sign.h"

namespace pc::jose {
namespace {

namespace json = boost::json;

// An RSA-2048 key pair (generated once: RSA key generation is slow) and its public JWK.
struct RsaPair {
  EvpPkeyPtr priv;
  json::object jwk;
};

std::string b64_param(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) throw std::runtime_error("no RSA param");
  std::string out(std::size_t(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return core::base64url_encode(out);
}

const RsaPair& rsa() {
  static const RsaPair pair = [] {
    RsaPair p{EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})), {}};
    if (!p.priv) throw std::runtime_error("RSA keygen failed");
    p.jwk = {{"kty", "RSA"},
             {"n", b64_param(p.priv.get(), OSSL_PKEY_PARAM_RSA_N)},
             {"e", b64_param(p.priv.get(), OSSL_PKEY_PARAM_RSA_E)}};
    return p;
  }();
  return pair;
}

// An RS*/PS* signature made by OpenSSL's own EVP_DigestSign (independent of our verify path).
std::string rsa_sign(Alg alg, std::string_view input) {
  const EVP_MD* md = nullptr;
  switch (alg) {
    case Alg::RS256: case Alg::PS256: md = EVP_sha256(); break;
    case Alg::RS384: case Alg::PS384: md = EVP_sha384(); break;
    case Alg::RS512: case Alg::PS512: md = EVP_sha512(); break;
    default: throw std::invalid_argument("not an RSA alg");
  }
  const bool pss = alg == Alg::PS256 || alg == Alg::PS384 || alg == Alg::PS512;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  std::string sig(256, '\0');
  std::size_t len = sig.size();
  const bool ok =
      ctx && EVP_DigestSignInit(ctx, &pctx, md, nullptr, rsa().priv.get()) == 1 &&
      (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("RSA signing failed");
  sig.resize(len);
  return sig;
}

constexpr Alg kRsaAlgs[] = {Alg::RS256, Alg::RS384, Alg::RS512,
                            Alg::PS256, Alg::PS384, Alg::PS512};

TEST(VerifyRsa, EveryRsaAlgVerifiesOnlyItsOwnSignatures) {
  const PublicKey key = parse_jwk(rsa().jwk);
  const std::string input = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9";
  for (Alg signed_as : kRsaAlgs) {
    const std::string sig = rsa_sign(signed_as, input);
    for (Alg checked_as : kRsaAlgs)
      EXPECT_EQ(verify(key, checked_as, input, sig), signed_as == checked_as)
          << "signed " << alg_name(signed_as) << ", checked as " << alg_name(checked_as);
    // Repeated: the second verify runs on the cached context.
    EXPECT_TRUE(verify(key, signed_as, input, sig)) << alg_name(signed_as);
    EXPECT_FALSE(verify(key, signed_as, input + "x", sig)) << alg_name(signed_as);
    std::string flipped = sig;
    flipped[flipped.size() / 2] ^= 0x01;
    EXPECT_FALSE(verify(key, signed_as, input, flipped)) << alg_name(signed_as);
    EXPECT_FALSE(verify(key, signed_as, input, sig.substr(1))) << alg_name(signed_as);
    EXPECT_FALSE(verify(key, signed_as, input, sig + '\0')) << alg_name(signed_as);
  }
}

TEST(VerifyRsa, SignatureNotBelowTheModulusIsRejected) {
  const PublicKey key = parse_jwk(rsa().jwk);
  const std::string n = *core::base64url_decode(rsa().jwk.at("n").as_string());
  ASSERT_EQ(n.size(), 256u);
  for (Alg alg : kRsaAlgs) {
    EXPECT_FALSE(verify(key, alg, "x", n)) << alg_name(alg);
    EXPECT_FALSE(verify(key, alg, "x", std::string(256, '\xff'))) << alg_name(alg);
    EXPECT_FALSE(verify(key, alg, "x", std::string(256, '\0'))) << alg_name(alg);
  }
}

TEST(VerifyCache, MovedFromKeyNeverVerifies) {
  auto priv = PrivateKey::generate(Alg::ES256, "k");
  PublicKey key = priv.public_key();
  const std::string sig = priv.sign(Alg::ES256, "m");
  ASSERT_TRUE(verify(key, Alg::ES256, "m", sig));  // now cached under key's id
  PublicKey moved = std::move(key);
  EXPECT_TRUE(verify(moved, Alg::ES256, "m", sig));
  EXPECT_FALSE(verify(key, Alg::ES256, "m", sig));  // NOLINT(bugprone-use-after-move)
}

TEST(VerifyCache, KeysGetDistinctIds) {
  auto priv = PrivateKey::generate(Alg::EdDSA, "k");
  const PublicKey a = priv.public_key(), b = priv.public_key();
  EXPECT_NE(a.id(), 0u);
  EXPECT_NE(a.id(), b.id());
}

// A key freed (a JWKS refresh) and a new one built, very likely at the same address, must not
// inherit the old key's cached context.
TEST(VerifyCache, FreedKeyIsNotConfusedWithItsSuccessor) {
  for (int i = 0; i < 32; ++i) {
    auto a = PrivateKey::generate(Alg::ES256, "k");
    auto b = PrivateKey::generate(Alg::ES256, "k");
    const std::string sig_a = a.sign(Alg::ES256, "m"), sig_b = b.sign(Alg::ES256, "m");
    std::optional<PublicKey> key;
    key.emplace(a.public_key());
    ASSERT_TRUE(verify(*key, Alg::ES256, "m", sig_a));
    key.reset();
    key.emplace(b.public_key());
    EXPECT_FALSE(verify(*key, Alg::ES256, "m", sig_a)) << i;
    EXPECT_TRUE(verify(*key, Alg::ES256, "m", sig_b)) << i;
  }
}

// More (key, alg) pairs than the per-thread cache holds: evicted entries are rebuilt correctly.
TEST(VerifyCache, ManyKeysBeyondTheCacheCapacity) {
  struct Signed {
    PublicKey key;
    std::string sig;
  };
  std::vector<Signed> all;
  for (int i = 0; i < 300; ++i) {
    auto priv = PrivateKey::generate(Alg::ES256, "k");
    all.push_back({priv.public_key(), priv.sign(Alg::ES256, "m")});
  }
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      ASSERT_TRUE(verify(all[i].key, Alg::ES256, "m", all[i].sig)) << round << " " << i;
      ASSERT_FALSE(verify(all[i].key, Alg::ES256, "m", all[(i + 1) % all.size()].sig));
    }
  }
}

// One key shared read-only by several threads (as a JWKS snapshot is by the I/O threads), each
// thread verifying good and bad signatures under several algs.
TEST(VerifyCache, SharedKeysVerifyConcurrently) {
  const PublicKey rsa_key = parse_jwk(rsa().jwk);
  auto ec = PrivateKey::generate(Alg::ES256, "ec");
  auto ed = PrivateKey::generate(Alg::EdDSA, "ed");
  const PublicKey ec_key = ec.public_key(), ed_key = ed.public_key();
  const std::string input = "header.payload";
  const std::string rs = rsa_sign(Alg::RS256, input), ps = rsa_sign(Alg::PS256, input);
  const std::string es = ec.sign(Alg::ES256, input), eds = ed.sign(Alg::EdDSA, input);

  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const std::string other = input + std::to_string(i);
        if (!verify(rsa_key, Alg::RS256, input, rs) || verify(rsa_key, Alg::RS256, other, rs) ||
            !verify(rsa_key, Alg::PS256, input, ps) || verify(rsa_key, Alg::PS256, other, ps) ||
            verify(rsa_key, Alg::PS256, input, rs) || verify(rsa_key, Alg::RS256, input, ps) ||
            !verify(ec_key, Alg::ES256, input, es) || verify(ec_key, Alg::ES256, other, es) ||
            !verify(ed_key, Alg::EdDSA, input, eds) || verify(ed_key, Alg::EdDSA, other, eds))
          ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace pc::jose
