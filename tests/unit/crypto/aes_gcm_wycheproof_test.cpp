// Wycheproof's AES-GCM vectors with the parameters seal/open and every data key use: a 256-bit
// key and a 96-bit IV (aead_test.cpp runs the whole file through the general primitive; this
// file pins down the one shape the vault depends on, so a regression there names itself).
// Each `valid` case must encrypt to exactly the expected ciphertext || tag and decrypt back;
// each `invalid` one must fail to decrypt and must not be what we would encrypt. Cases with any
// other key or IV size are skipped, and counted, so none goes missing silently.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "crypto/aead.h"
#include "jose/test_util.h"  // unhex

namespace pc::crypto {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using pc::jose::testing::unhex;

std::span<const unsigned char> span_of(const std::string& s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

std::string str(const json::object& o, const char* key) { return std::string(o.at(key).as_string()); }

fs::path vector_file() {
  if (const char* env = std::getenv("WYCHEPROOF_DIR"); env && *env) return fs::path(env) / "aes_gcm_test.json";
  return fs::path(PORTCULLIS_WYCHEPROOF_DIR) / "aes_gcm_test.json";
}

TEST(AesGcmWycheproof, Aes256With96BitIv) {
  const fs::path path = vector_file();
  std::ifstream in(path);
  // The vectors are in the repository (tests/testdata/wycheproof): a missing file is a failure,
  // never a skip that would let a checkout pass without running them.
  if (!in) FAIL() << "Wycheproof vectors not found at " << path.string() << " (set WYCHEPROOF_DIR)";
  std::stringstream text;
  text << in.rdbuf();
  const json::object file = json::parse(text.str()).as_object();

  int valid = 0, invalid = 0, acceptable = 0, skipped = 0, total = 0;
  for (const auto& gv : file.at("testGroups").as_array()) {
    const auto& group = gv.as_object();
    const auto tag_len = static_cast<std::size_t>(group.at("tagSize").to_number<int>() / 8);
    for (const auto& tv : group.at("tests").as_array()) {
      ++total;
      const auto& t = tv.as_object();
      const std::string key = unhex(str(t, "key")), iv = unhex(str(t, "iv"));
      // Filter on the decoded sizes, not the group's labels: a mislabelled group must not slip
      // a different shape into the count.
      if (key.size() != kAeadKeySize || iv.size() != kAeadNonceSize || tag_len != kAeadTagSize) {
        ++skipped;
        continue;
      }
      const std::string aad = unhex(str(t, "aad")), msg = unhex(str(t, "msg"));
      const std::string ct_tag = unhex(str(t, "ct")) + unhex(str(t, "tag"));
      const std::string result = str(t, "result");
      const std::string where = "tcId " + std::to_string(t.at("tcId").as_int64()) + " (" + str(t, "comment") + ")";

      if (result == "valid") {
        ++valid;
        EXPECT_EQ(gcm_encrypt(span_of(key), iv, aad, msg), ct_tag) << where;
        const auto pt = gcm_decrypt(span_of(key), iv, aad, ct_tag);
        ASSERT_TRUE(pt.has_value()) << where << ": a valid vector failed to decrypt";
        EXPECT_EQ(*pt, msg) << where;
      } else if (result == "invalid") {
        ++invalid;
        EXPECT_FALSE(gcm_decrypt(span_of(key), iv, aad, ct_tag).has_value())
            << where << ": an invalid vector decrypted";
        // The invalid cases of this shape carry a wrong tag: our encryption of the same input
        // must differ from it, or we would produce forgeries ourselves.
        EXPECT_NE(gcm_encrypt(span_of(key), iv, aad, msg), ct_tag) << where;
      } else {
        ++acceptable;  // either outcome is allowed; it must only not crash
        (void)gcm_decrypt(span_of(key), iv, aad, ct_tag);
      }
    }
  }
  std::cout << "[ wycheproof ] AES-256-GCM, 96-bit IV: " << valid << " valid, " << invalid
            << " invalid, " << acceptable << " acceptable; " << skipped
            << " cases with other key/IV sizes skipped\n";
  EXPECT_EQ(total, file.at("numberOfTests").to_number<int>()) << "cases went uncounted";
  EXPECT_EQ(valid + invalid + acceptable + skipped, total);
  EXPECT_GT(valid + invalid + acceptable, 0) << "no case of seal's shape ran";
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

}  // namespace
}  // namespace pc::crypto
