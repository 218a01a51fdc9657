// The human output of `portcullis ops` (app/ops_table.h): tables an operator reads and scripts
// `awk`, so alignment, placeholders and escaping are part of the contract.
#include "app/ops_table.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>
#include <vector>

namespace pc::app::ops {
namespace {

namespace json = boost::json;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

json::array rows(std::string_view text) { return json::parse(text).as_array(); }

const std::vector<Column> kColumns = {{"TENANT", {"tenantId"}}, {"TIER", {"tier"}}, {"STATUS", {"status"}}};

TEST(OpsTable, ColumnsStartAtTheSameOffsetOnEveryLine) {
  const auto out = render_table(rows(R"([{"tenantId":"a","tier":"premium","status":"active"},
                                         {"tenantId":"longer-tenant","tier":"basic","status":"suspended"}])"),
                                kColumns);
  const auto l = lines_of(out);
  ASSERT_EQ(l.size(), 3u) << out;
  EXPECT_EQ(l[0], "TENANT         TIER     STATUS");
  EXPECT_EQ(l[1], "a              premium  active");
  EXPECT_EQ(l[2], "longer-tenant  basic    suspended");
  // The widest first cell (13 columns) is followed by the two-space gap, and the second
  // column starts right after it on every line.
  for (const auto& line : l) {
    EXPECT_EQ(line.substr(13, 2), "  ") << line;
    EXPECT_NE(line[15], ' ') << line;
  }
}

TEST(OpsTable, NoTrailingBlanksAndOneNewlinePerRow) {
  // The last column is not padded, so `awk '{print $NF}'` and diffs see clean lines.
  const auto out = render_table(rows(R"([{"tenantId":"a","tier":"t","status":"x"},
                                         {"tenantId":"b","tier":"t","status":"longest-status"}])"),
                                kColumns);
  for (const auto& line : lines_of(out)) EXPECT_NE(line.back(), ' ') << "'" << line << "'";
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(lines_of(out).size(), 3u);
}

TEST(OpsTable, AHeaderWiderThanItsCellsSetsTheWidth) {
  const auto out = render_table(rows(R"([{"tenantId":"a","tier":"b","status":"c"}])"), kColumns);
  EXPECT_EQ(lines_of(out)[1], "a       b     c");
}

TEST(OpsTable, MissingAndNullFieldsPrintADash) {
  // An API that adds or leaves out a field must not shift the other columns.
  const auto out = render_table(rows(R"([{"tenantId":"a","status":null},{"tier":"basic","status":"active"}])"),
                                kColumns);
  const auto l = lines_of(out);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1], "a       -      -");
  EXPECT_EQ(l[2], "-       basic  active");
}

TEST(OpsTable, EmptyListSaysNone) {
  EXPECT_EQ(render_table(json::array{}, kColumns), "(none)\n");
}

TEST(OpsTable, FallbackPathsAndNestedFields) {
  // One column, two names: the first present non-null one wins; dots descend into objects.
  const std::vector<Column> cols = {{"TIME", {"timestamp", "createdAt"}}, {"LATENCY", {"usage.latencyMs"}}};
  const auto out = render_table(rows(R"([{"timestamp":null,"createdAt":"t1","usage":{"latencyMs":12}},
                                         {"timestamp":"t2","createdAt":"ignored","usage":"not-an-object"}])"),
                                cols);
  const auto l = lines_of(out);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1], "t1    12");
  EXPECT_EQ(l[2], "t2    -");
}

TEST(OpsTable, WidthsCountCodePointsNotBytes) {
  // "café" is 5 bytes but 4 columns: padding by bytes would misalign the next column.
  const std::vector<Column> cols = {{"NAME", {"n"}}, {"X", {"x"}}};
  const auto out = render_table(rows(R"([{"n":"café","x":"1"},{"n":"abcde","x":"2"}])"), cols);
  const auto l = lines_of(out);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1], "café   1");
  EXPECT_EQ(l[2], "abcde  2");
  EXPECT_EQ(display_width("café"), 4u);
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width(""), 0u);
}

TEST(OpsTable, ControlCharactersAreEscapedSoATenantCannotDriveTheTerminal) {
  // A display name with an ANSI escape or a newline would otherwise recolour the screen or
  // forge a table row.
  const std::vector<Column> cols = {{"NAME", {"n"}}, {"X", {"x"}}};
  const auto out = render_table(rows(R"([{"n":"evil\u001b[2Jname\nforged","x":"1"}])"), cols);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  const auto l = lines_of(out);
  ASSERT_EQ(l.size(), 2u) << "a newline inside a cell must not start a row";
  EXPECT_EQ(l[1], "evil\\x1b[2Jname\\x0aforged  1");
}

TEST(OpsTable, SanitizeEscapesC0DelC1AndInvalidUtf8AndKeepsTheRest) {
  EXPECT_EQ(sanitize("plain text"), "plain text");
  EXPECT_EQ(sanitize("tab\there"), "tab\\x09here");
  EXPECT_EQ(sanitize("del\x7f"), "del\\x7f");
  EXPECT_EQ(sanitize("c1\xc2\x9b" "x"), "c1\\xc2\\x9bx");  // U+009B, a one-byte CSI on some terminals
  EXPECT_EQ(sanitize("bad\xff"), "bad\\xff");
  EXPECT_EQ(sanitize("trunc\xe2\x82"), "trunc\\xe2\\x82");
  EXPECT_EQ(sanitize("\xc0\xaf"), "\\xc0\\xaf");  // overlong '/'
  EXPECT_EQ(sanitize("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(sanitize("\xc2\xa0\xe2\x82\xac\xf0\x9f\x99\x82"), "\xc2\xa0\xe2\x82\xac\xf0\x9f\x99\x82");  // nbsp € 🙂
}

TEST(OpsTable, ValidUtf8) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("line\nbreaks are text"));
  EXPECT_TRUE(valid_utf8("\xe2\x82\xac"));
  EXPECT_FALSE(valid_utf8("\xe2\x82"));
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(OpsTable, CellTextFormatsEachKind) {
  auto cell = [](std::string_view j) {
    const json::value v = json::parse(j);
    return cell_text(&v);
  };
  EXPECT_EQ(cell_text(nullptr), "-");
  EXPECT_EQ(cell("null"), "-");
  EXPECT_EQ(cell(R"("")"), "-");
  EXPECT_EQ(cell(R"("x y")"), "x y");
  EXPECT_EQ(cell("true"), "yes");
  EXPECT_EQ(cell("false"), "no");
  EXPECT_EQ(cell("42"), "42");
  EXPECT_EQ(cell("-7"), "-7");
  EXPECT_EQ(cell("18446744073709551615"), "18446744073709551615");
  // Boost.JSON would print doubles as 1E1 or 1.25E-2: operators read rates, not exponents.
  EXPECT_EQ(cell("10.0"), "10");
  EXPECT_EQ(cell("0.0125"), "0.0125");
  EXPECT_EQ(cell("0.333333333"), "0.333333");
  EXPECT_EQ(cell(R"(["Agent.Invoke","Machine.Invoke"])"), "Agent.Invoke,Machine.Invoke");
  EXPECT_EQ(cell("[]"), "-");
  EXPECT_EQ(cell(R"([{"a":1}])"), R"([{"a":1}])");
  EXPECT_EQ(cell(R"({"a":[1,2]})"), R"({"a":[1,2]})");
}

TEST(OpsTable, LookupFollowsDotsAndStopsAtNonObjects) {
  const json::value v = json::parse(R"({"a":{"b":{"c":3}},"s":"x"})");
  ASSERT_NE(lookup(v, "a.b.c"), nullptr);
  EXPECT_EQ(lookup(v, "a.b.c")->as_int64(), 3);
  EXPECT_EQ(lookup(v, "a.x"), nullptr);
  EXPECT_EQ(lookup(v, "s.t"), nullptr);
  EXPECT_EQ(lookup(json::value(json::array{}), "a"), nullptr);
}

TEST(OpsTable, RecordKeepsTheApiOrderAndAlignsValues) {
  const auto obj = json::parse(R"({"tenantId":"acme","tier":"basic","displayName":null,"roles":["a","b"],
                                   "versions":[{"version":"1"}]})")
                       .as_object();
  const auto l = lines_of(render_record(obj, {"versions"}));
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0], "tenantId:     acme");
  EXPECT_EQ(l[1], "tier:         basic");
  EXPECT_EQ(l[2], "displayName:  -");
  EXPECT_EQ(l[3], "roles:        a,b");
  EXPECT_EQ(render_record(json::object{}), "(none)\n");
}

}  // namespace
}  // namespace pc::app::ops
