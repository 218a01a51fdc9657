// The AAD formats: exact bytes (they are part of every stored ciphertext's identity, so a change
// would make existing rows unreadable), and no two different contexts sharing one AAD.
#include "crypto/associated_data.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace pc::crypto {
namespace {

TEST(AssociatedData, RowAadHasAFixedLengthPrefixedForm) {
  EXPECT_EQ(row_aad("acme", "secrets", "db-password#3", "sealed"),
            "row:4:acme,7:secrets,13:db-password#3,6:sealed,");
  EXPECT_EQ(row_aad("", "", "", ""), "row:0:,0:,0:,0:,");
}

TEST(AssociatedData, KeyAadsHaveFixedForms) {
  EXPECT_EQ(data_key_aad("acme", "secret", 12), "data-key:4:acme,6:secret,2:12,");
  // Signing keys sealed before this file existed used exactly this; it must not change.
  EXPECT_EQ(signing_key_aad("pc-0123456789abcdef"), "signing-key:pc-0123456789abcdef");
}

// Shifting bytes between neighbouring fields, or hiding a separator inside a field, must give a
// different AAD: that is what a plain join("|") or join(":") would get wrong.
TEST(AssociatedData, FieldBoundariesAreUnambiguous) {
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> rows = {
      {"ab", "c", "r", "x"},        {"a", "bc", "r", "x"},        {"a", "b", "cr", "x"},
      {"a", "b,1:c", "r", "x"},     {"a,1:b", "c", "r", "x"},     {"a", "b", "c", "r,1:x"},
      {"acme", "secrets", "n#1", "sealed"}, {"acme", "secrets", "n", "#1sealed"},
      {"acme", "secrets#n", "1", "sealed"}, {"acme:secrets", "n#1", "", "sealed"},
      {"1:a,", "", "", ""},         {"", "1:a,", "", ""},
  };
  std::set<std::string> seen;
  for (const auto& [t, table, row, col] : rows) {
    EXPECT_TRUE(seen.insert(row_aad(t, table, row, col)).second)
        << "collision for (" << t << ", " << table << ", " << row << ", " << col << ")";
  }
  // Data-key AADs: tenant/class boundary and version digits.
  EXPECT_NE(data_key_aad("ab", "c", 1), data_key_aad("a", "bc", 1));
  EXPECT_NE(data_key_aad("a", "b", 12), data_key_aad("a", "b1", 2));
  // The labels keep the kinds apart even when the fields line up.
  EXPECT_NE(row_aad("a", "b", "1", ""), data_key_aad("a", "b", 1));
}

TEST(AssociatedData, LengthCountsBytesNotCharacters) {
  std::string out;
  append_length_prefixed(out, "\xc3\xa9");  // "é": two bytes
  EXPECT_EQ(out, "2:\xc3\xa9,");
  std::string with_nul;
  append_length_prefixed(with_nul, std::string_view("a\0b", 3));
  EXPECT_EQ(with_nul, std::string("3:a\0b,", 6));
}

}  // namespace
}  // namespace pc::crypto
