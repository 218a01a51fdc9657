// Walking every string value of a JSON document: nested containers, keys left alone, document
// order, the depth bound (a throw, so callers fail closed).
#include "mcp/json_strings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <vector>

namespace pc::mcp {
namespace {
namespace json = boost::json;

TEST(JsonStrings, VisitsEveryStringValueInOrderAndLeavesKeysAlone) {
  json::value v = json::parse(R"({"a":"one","b":[1,"two",{"c":"three","n":null}],"d":{"e":["four"]},"f":true})");
  std::vector<std::string> seen;
  for_each_string(v, [&](json::string& s) {
    seen.emplace_back(s);
    s = "X" + std::string(s);
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"one", "two", "three", "four"}));
  EXPECT_EQ(json::serialize(v), R"({"a":"Xone","b":[1,"Xtwo",{"c":"Xthree","n":null}],"d":{"e":["Xfour"]},"f":true})");
}

TEST(JsonStrings, ARootStringIsVisited) {
  json::value v = "alone";
  for_each_string(v, [](json::string& s) { s = "changed"; });
  EXPECT_EQ(v.as_string(), "changed");
}

TEST(JsonStrings, ReadOnlyWalkCanIncludeKeys) {
  const json::value v = json::parse(R"({"k1":{"k2":"v"},"k3":["w"]})");
  std::vector<std::string> values, all;
  for_each_string(v, [&](std::string_view s) { values.emplace_back(s); });
  for_each_string(v, [&](std::string_view s) { all.emplace_back(s); }, true);
  EXPECT_EQ(values, (std::vector<std::string>{"v", "w"}));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"k1", "k2", "k3", "v", "w"}));
}

json::value nested(int depth) {
  json::value v = "deep";
  for (int i = 0; i < depth; ++i) {
    json::array a;
    a.push_back(std::move(v));
    v = std::move(a);
  }
  return v;
}

TEST(JsonStrings, DepthIsBounded) {
  json::value ok = nested(10);
  int n = 0;
  EXPECT_NO_THROW(for_each_string(ok, [&](json::string&) { ++n; }, 10));
  EXPECT_EQ(n, 1);
  json::value deep = nested(11);
  EXPECT_THROW(for_each_string(deep, [](json::string&) {}, 10), JsonTooDeep);
  // Deeper than the default bound: a clean throw. (Not millions deep: Boost.JSON's own
  // destructor recurses, so the test could not free such a document.)
  json::value very = nested(2000);
  EXPECT_THROW(for_each_string(very, [](json::string&) {}), JsonTooDeep);
}

}  // namespace
}  // namespace pc::mcp
