#include "mcp/json_schema.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace pc::mcp {
namespace {

namespace json = boost::json;

std::shared_ptr<const CompiledSchema> S(std::string_view schema, const SchemaLimits& limits = {}) {
  return CompiledSchema::compile(json::parse(schema), limits);
}

ValidationResult V(std::string_view schema, std::string_view instance) {
  return S(schema)->validate(json::parse(instance));
}

bool valid(std::string_view schema, std::string_view instance) { return V(schema, instance).valid; }

std::string errors(std::string_view schema, std::string_view instance) {
  std::string out;
  for (const auto& e : V(schema, instance).errors) out += (out.empty() ? "" : "|") + e;
  return out;
}

void invalid_schema(std::string_view schema) {
  EXPECT_THROW(S(schema), SchemaError) << schema;
}

TEST(JsonSchema, Types) {
  EXPECT_TRUE(valid(R"({"type":"string"})", R"("x")"));
  EXPECT_FALSE(valid(R"({"type":"string"})", "1"));
  EXPECT_TRUE(valid(R"({"type":"number"})", "1.5"));
  EXPECT_TRUE(valid(R"({"type":"number"})", "1"));
  EXPECT_FALSE(valid(R"({"type":"number"})", R"("1")"));
  EXPECT_FALSE(valid(R"({"type":"number"})", "true"));
  EXPECT_TRUE(valid(R"({"type":"boolean"})", "false"));
  EXPECT_FALSE(valid(R"({"type":"boolean"})", "0"));
  EXPECT_TRUE(valid(R"({"type":"null"})", "null"));
  EXPECT_FALSE(valid(R"({"type":"object"})", "[]"));
  EXPECT_FALSE(valid(R"({"type":"array"})", "{}"));
  EXPECT_TRUE(valid(R"({"type":["string","null"]})", "null"));
  EXPECT_FALSE(valid(R"({"type":["string","null"]})", "3"));
  EXPECT_EQ(errors(R"({"type":["string","null"]})", "3"), "/: expected string or null");
}

TEST(JsonSchema, IntegerIncludesIntegralFloats) {
  EXPECT_TRUE(valid(R"({"type":"integer"})", "1"));
  EXPECT_TRUE(valid(R"({"type":"integer"})", "1.0"));  // draft 2020-12: 1.0 is an integer
  EXPECT_TRUE(valid(R"({"type":"integer"})", "-0.0"));
  EXPECT_TRUE(valid(R"({"type":"integer"})", "1e3"));
  EXPECT_TRUE(valid(R"({"type":"integer"})", "18446744073709551615"));
  EXPECT_FALSE(valid(R"({"type":"integer"})", "1.5"));
  EXPECT_FALSE(valid(R"({"type":"integer"})", R"("1")"));
  EXPECT_EQ(errors(R"({"type":"integer"})", "1.5"), "/: expected integer");
}

TEST(JsonSchema, NumericBounds) {
  const char* s = R"({"minimum":1,"maximum":10})";
  EXPECT_TRUE(valid(s, "1"));
  EXPECT_TRUE(valid(s, "10"));
  EXPECT_TRUE(valid(s, "10.0"));
  EXPECT_FALSE(valid(s, "0.999"));
  EXPECT_FALSE(valid(s, "10.001"));
  EXPECT_EQ(errors(s, "11"), "/: must be <= 10");
  const char* x = R"({"exclusiveMinimum":0,"exclusiveMaximum":1.5})";
  EXPECT_FALSE(valid(x, "0"));
  EXPECT_TRUE(valid(x, "0.1"));
  EXPECT_FALSE(valid(x, "1.5"));
  EXPECT_TRUE(valid(R"({"multipleOf":3})", "9"));
  EXPECT_TRUE(valid(R"({"multipleOf":3})", "-9"));
  EXPECT_FALSE(valid(R"({"multipleOf":3})", "10"));
  EXPECT_TRUE(valid(R"({"multipleOf":0.1})", "0.3"));
  EXPECT_FALSE(valid(R"({"multipleOf":0.1})", "0.35"));
  // Non-numbers are not judged by numeric keywords.
  EXPECT_TRUE(valid(s, R"("x")"));
  // Exact comparison of big integers.
  EXPECT_FALSE(valid(R"({"maximum":9223372036854775807})", "9223372036854775808"));
  EXPECT_TRUE(valid(R"({"minimum":-1})", "18446744073709551615"));
  EXPECT_FALSE(valid(R"({"maximum":-1})", "18446744073709551615"));
}

TEST(JsonSchema, StringLengthsCountCodePoints) {
  const char* s = R"({"type":"string","minLength":2,"maxLength":3})";
  EXPECT_TRUE(valid(s, R"("ab")"));
  EXPECT_FALSE(valid(s, R"("a")"));
  EXPECT_FALSE(valid(s, R"("abcd")"));
  EXPECT_TRUE(valid(s, R"("héé")"));           // 3 code points, 5 bytes
  EXPECT_TRUE(valid(s, R"("😀😀😀")"));        // 3 code points, 12 bytes
  EXPECT_TRUE(valid(s, R"("\ud83d\ude00x")")); // surrogate pair = one code point
  EXPECT_FALSE(valid(s, R"("😀")"));
  EXPECT_EQ(errors(s, R"("abcd")"), "/: longer than 3 characters");
}

TEST(JsonSchema, PatternSearchesNotAnchored) {
  EXPECT_TRUE(valid(R"({"pattern":"b+"})", R"("abbbc")"));
  EXPECT_FALSE(valid(R"({"pattern":"^b+$"})", R"("abbbc")"));
  EXPECT_TRUE(valid(R"({"pattern":"^[a-z0-9_-]{3,16}$"})", R"("user_1")"));
  EXPECT_FALSE(valid(R"({"pattern":"^[a-z0-9_-]{3,16}$"})", R"("x")"));
  EXPECT_TRUE(valid(R"({"pattern":"^\\p{L}+$"})", R"("héllo")"));
  EXPECT_EQ(errors(R"({"pattern":"^a"})", R"("b")"), "/: does not match the pattern");
  // Not for RE2 (look-ahead, back-references): the schema is invalid, never ignored.
  invalid_schema(R"json({"pattern":"^(?=a)"})json");
  invalid_schema(R"json({"pattern":"(a)\\1"})json");
  invalid_schema(R"({"pattern":5})");
}

TEST(JsonSchema, ObjectsRequiredAndAdditional) {
  const char* s = R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1}},
                      "required":["city"],"additionalProperties":false})";
  EXPECT_TRUE(valid(s, R"({"city":"Oslo"})"));
  EXPECT_TRUE(valid(s, R"({"city":"Oslo","days":3})"));
  EXPECT_EQ(errors(s, R"({})"), "/: missing required property \"city\"");
  EXPECT_EQ(errors(s, R"({"city":"Oslo","extra":1})"), "/extra: property not allowed");
  EXPECT_EQ(errors(s, R"({"city":1,"days":0})"), "/city: expected string|/days: must be >= 1");
  // additionalProperties as a schema.
  const char* t = R"({"properties":{"a":{}},"additionalProperties":{"type":"number"}})";
  EXPECT_TRUE(valid(t, R"({"a":"x","b":1})"));
  EXPECT_EQ(errors(t, R"({"a":"x","b":"y"})"), "/b: expected number");
  // patternProperties take part in "additional".
  const char* p = R"({"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false})";
  EXPECT_TRUE(valid(p, R"({"x-a":"1"})"));
  EXPECT_FALSE(valid(p, R"({"x-a":1})"));
  EXPECT_FALSE(valid(p, R"({"y":"1"})"));
  EXPECT_FALSE(valid(R"({"minProperties":1})", "{}"));
  EXPECT_FALSE(valid(R"({"maxProperties":1})", R"({"a":1,"b":2})"));
  EXPECT_FALSE(valid(R"({"propertyNames":{"maxLength":3}})", R"({"long":1})"));
  EXPECT_FALSE(valid(R"({"dependentRequired":{"a":["b"]}})", R"({"a":1})"));
  EXPECT_TRUE(valid(R"({"dependentRequired":{"a":["b"]}})", R"({"b":1})"));
  EXPECT_FALSE(valid(R"({"dependentSchemas":{"a":{"required":["c"]}}})", R"({"a":1})"));
}

TEST(JsonSchema, NestedRequiredAndPaths) {
  const char* s = R"({"type":"object","required":["user"],"properties":{"user":{"type":"object",
      "required":["address"],"properties":{"address":{"type":"object","required":["zip"],
      "properties":{"zip":{"type":"string","pattern":"^[0-9]{5}$"}}}}}}})";
  EXPECT_TRUE(valid(s, R"({"user":{"address":{"zip":"12345"}}})"));
  EXPECT_EQ(errors(s, R"({"user":{}})"), "/user: missing required property \"address\"");
  EXPECT_EQ(errors(s, R"({"user":{"address":{}}})"), "/user/address: missing required property \"zip\"");
  EXPECT_EQ(errors(s, R"({"user":{"address":{"zip":"1234"}}})"), "/user/address/zip: does not match the pattern");
  // Keys with / and ~ are escaped in paths.
  EXPECT_EQ(errors(R"({"properties":{"a/b~":{"type":"string"}}})", R"({"a/b~":1})"), "/a~1b~0: expected string");
}

TEST(JsonSchema, ErrorsNeverQuoteLongValues) {
  const std::string longkey(500, 'k');
  const std::string longvalue(5000, 'v');
  auto r = V(R"({"additionalProperties":false,"properties":{"a":{"maxLength":3}}})",
             "{\"" + longkey + "\":1,\"a\":\"" + longvalue + "\"}");
  ASSERT_FALSE(r.valid);
  for (const auto& e : r.errors) {
    EXPECT_LT(e.size(), 120u) << e;
    EXPECT_EQ(e.find("vvvv"), std::string::npos);
  }
  // Many errors are capped.
  std::string many = "{";
  for (int i = 0; i < 100; ++i) many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":1";
  many += "}";
  r = V(R"({"additionalProperties":false})", many);
  EXPECT_EQ(r.errors.size(), 8u);
}

TEST(JsonSchema, Arrays) {
  const char* s = R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3,"uniqueItems":true})";
  EXPECT_TRUE(valid(s, "[1,2,3]"));
  EXPECT_FALSE(valid(s, "[]"));
  EXPECT_FALSE(valid(s, "[1,2,3,4]"));
  EXPECT_EQ(errors(s, R"([1,"x"])"), "/1: expected integer");
  EXPECT_EQ(errors(s, "[1,1.0]"), "/: items are not unique");  // 1 == 1.0
  EXPECT_TRUE(valid(R"({"uniqueItems":true})", R"([{"a":1,"b":2},{"b":2,"a":1,"c":0}])"));
  EXPECT_FALSE(valid(R"({"uniqueItems":true})", R"([{"a":1,"b":2},{"b":2,"a":1}])"));
  const char* t = R"({"prefixItems":[{"type":"string"},{"type":"number"}],"items":false})";
  EXPECT_TRUE(valid(t, R"(["a",1])"));
  EXPECT_TRUE(valid(t, R"(["a"])"));
  EXPECT_EQ(errors(t, R"(["a",1,2])"), "/2: item not allowed");
  EXPECT_FALSE(valid(t, R"([1,1])"));
  // Draft-07 tuple form.
  const char* d7 = R"({"items":[{"type":"string"}],"additionalItems":{"type":"boolean"}})";
  EXPECT_TRUE(valid(d7, R"(["a",true,false])"));
  EXPECT_FALSE(valid(d7, R"(["a",1])"));
  EXPECT_TRUE(valid(R"({"contains":{"const":3}})", "[1,3]"));
  EXPECT_FALSE(valid(R"({"contains":{"const":3}})", "[1,2]"));
  EXPECT_FALSE(valid(R"({"contains":{"const":3},"maxContains":1})", "[3,3]"));
  EXPECT_TRUE(valid(R"({"contains":{"const":3},"minContains":0})", "[]"));
}

TEST(JsonSchema, EnumAndConst) {
  EXPECT_TRUE(valid(R"({"enum":["a","b",1]})", R"("b")"));
  EXPECT_TRUE(valid(R"({"enum":["a","b",1]})", "1.0"));
  EXPECT_FALSE(valid(R"({"enum":["a","b",1]})", R"("c")"));
  EXPECT_FALSE(valid(R"({"enum":["a","b",1]})", "true"));
  EXPECT_EQ(errors(R"({"enum":["a"]})", R"("zzz")"), "/: not one of the allowed values");
  EXPECT_TRUE(valid(R"({"const":{"a":[1,2]}})", R"({"a":[1,2.0]})"));
  EXPECT_FALSE(valid(R"({"const":{"a":[1,2]}})", R"({"a":[2,1]})"));
  EXPECT_FALSE(valid(R"({"const":null})", "false"));
  EXPECT_FALSE(valid(R"({"const":false})", "0"));
}

TEST(JsonSchema, Combinators) {
  const char* any = R"({"anyOf":[{"type":"string"},{"type":"integer"}]})";
  EXPECT_TRUE(valid(any, "1"));
  EXPECT_FALSE(valid(any, "1.5"));
  EXPECT_EQ(errors(any, "null"), "/: does not match any schema of anyOf");
  const char* one = R"({"oneOf":[{"type":"integer"},{"minimum":5}]})";
  EXPECT_TRUE(valid(one, "3"));
  EXPECT_TRUE(valid(one, "5.5"));
  EXPECT_EQ(errors(one, "7"), "/: matches more than one schema of oneOf");
  EXPECT_FALSE(valid(one, "2.5"));
  const char* all = R"({"allOf":[{"required":["a"]},{"required":["b"]}]})";
  EXPECT_EQ(errors(all, "{}"), "/: missing required property \"a\"|/: missing required property \"b\"");
  EXPECT_FALSE(valid(R"({"not":{"type":"null"}})", "null"));
  EXPECT_TRUE(valid(R"({"not":{"type":"null"}})", "0"));
  const char* cond = R"({"if":{"properties":{"kind":{"const":"card"}}},"then":{"required":["number"]},"else":{"required":["iban"]}})";
  EXPECT_TRUE(valid(cond, R"({"kind":"card","number":"4"})"));
  EXPECT_FALSE(valid(cond, R"({"kind":"card"})"));
  EXPECT_FALSE(valid(cond, R"({"kind":"sepa"})"));
  EXPECT_TRUE(valid(cond, R"({"kind":"sepa","iban":"x"})"));
}

TEST(JsonSchema, BooleanSchemas) {
  EXPECT_TRUE(valid("true", R"({"anything":[1]})"));
  EXPECT_FALSE(valid("false", "{}"));
  EXPECT_EQ(errors(R"({"properties":{"x":false}})", R"({"x":1})"), "/x: not allowed");
}

TEST(JsonSchema, LocalRefs) {
  const char* s = R"({"$defs":{"pos":{"type":"integer","minimum":1}},"type":"object",
      "properties":{"a":{"$ref":"#/$defs/pos"},"b":{"$ref":"#/definitions/name"}},
      "definitions":{"name":{"type":"string"}}})";
  EXPECT_TRUE(valid(s, R"({"a":1,"b":"x"})"));
  EXPECT_EQ(errors(s, R"({"a":0})"), "/a: must be >= 1");
  EXPECT_EQ(errors(s, R"({"b":0})"), "/b: expected string");
  // Recursion through the instance is fine: a tree.
  const char* tree = R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
      "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}},"$ref":"#/$defs/node"})";
  EXPECT_TRUE(valid(tree, R"({"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]})"));
  EXPECT_EQ(errors(tree, R"({"v":1,"kids":[{"v":2,"kids":[{}]}]})"), "/kids/0/kids/0: missing required property \"v\"");
  // "#" is the root; escaped pointer tokens resolve.
  EXPECT_FALSE(valid(R"({"properties":{"self":{"$ref":"#"}},"required":["x"]})", R"({"x":1,"self":{}})"));
  EXPECT_TRUE(valid(R"({"$defs":{"a/b":{"type":"string"}},"$ref":"#/$defs/a~1b"})", R"("s")"));
  EXPECT_TRUE(valid(R"({"$defs":{"a b":{"type":"string"}},"$ref":"#/$defs/a%20b"})", R"("s")"));
}

TEST(JsonSchema, RefLoopsAreInvalidSchemas) {
  invalid_schema(R"({"$ref":"#"})");
  invalid_schema(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})");
  invalid_schema(R"({"$defs":{"a":{"allOf":[{"$ref":"#/$defs/a"}]}},"properties":{"x":{"$ref":"#/$defs/a"}}})");
  invalid_schema(R"({"$defs":{"a":{"not":{"anyOf":[{"$ref":"#/$defs/a"}]}}},"$ref":"#/$defs/a"})");
  // Unresolvable or non-local refs.
  invalid_schema(R"({"$ref":"#/$defs/missing"})");
  invalid_schema(R"({"$ref":"https://example.com/schema.json"})");
  invalid_schema(R"({"$ref":"other.json#/a"})");
  invalid_schema(R"({"$ref":"#anchor"})");
  invalid_schema(R"({"$ref":"#/$defs/%zz"})");
  invalid_schema(R"({"$ref":5})");
  invalid_schema(R"({"$dynamicRef":"#meta"})");
}

TEST(JsonSchema, MalformedSchemasAreInvalid) {
  invalid_schema("3");
  invalid_schema(R"("object")");
  invalid_schema(R"({"type":"strin"})");
  invalid_schema(R"({"type":[]})");
  invalid_schema(R"({"type":5})");
  invalid_schema(R"({"required":"a"})");
  invalid_schema(R"({"required":[1]})");
  invalid_schema(R"({"minLength":-1})");
  invalid_schema(R"({"minLength":1.5})");
  invalid_schema(R"({"maxItems":"3"})");
  invalid_schema(R"({"minimum":"1"})");
  invalid_schema(R"({"multipleOf":0})");
  invalid_schema(R"({"properties":[]})");
  invalid_schema(R"({"properties":{"a":3}})");
  invalid_schema(R"({"anyOf":[]})");
  invalid_schema(R"({"allOf":{}})");
  invalid_schema(R"({"enum":"a"})");
  invalid_schema(R"({"uniqueItems":1})");
  invalid_schema(R"({"exclusiveMinimum":true})");  // draft-04 form
  invalid_schema(R"({"unevaluatedProperties":false})");
  EXPECT_NO_THROW(S(R"({"unevaluatedProperties":true})"));
}

TEST(JsonSchema, AnnotationsAndUnknownKeywordsIgnored) {
  const char* s = R"({"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"urn:x","title":"t",
      "description":"d","type":"string","format":"email","default":"x","examples":["a"],"x-vendor":{"a":1},
      "readOnly":true,"$comment":"c","deprecated":false,"contentMediaType":"text/plain"})";
  EXPECT_TRUE(valid(s, R"("not an email")"));
  // Unreferenced $defs may even be invalid: they are never compiled.
  EXPECT_TRUE(valid(R"({"$defs":{"junk":{"type":"nope"}},"type":"object"})", "{}"));
}

TEST(JsonSchema, McpStyleToolSchema) {
  // What the TypeScript SDK (zod-to-json-schema) emits for a tool.
  const char* s = R"({"type":"object","properties":{"query":{"type":"string","minLength":1},
      "limit":{"type":"integer","exclusiveMinimum":0,"maximum":100,"default":10},
      "tags":{"type":"array","items":{"type":"string","enum":["a","b"]}},
      "opts":{"type":"object","properties":{"deep":{"type":"boolean"}},"additionalProperties":false}},
      "required":["query"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"})";
  EXPECT_TRUE(valid(s, R"({"query":"x","limit":5,"tags":["a"],"opts":{"deep":true}})"));
  EXPECT_EQ(errors(s, R"({"query":"","limit":0,"tags":["c"],"opts":{"deep":1,"x":2}})"),
            "/query: shorter than 1 characters|/limit: must be > 0|/tags/0: not one of the allowed values|/opts/deep: expected boolean|"
            "/opts/x: property not allowed");
}

TEST(JsonSchema, LimitsBoundTheWork) {
  // Schema size.
  SchemaLimits tiny;
  tiny.max_nodes = 3;
  EXPECT_THROW(S(R"({"properties":{"a":{},"b":{},"c":{}}})", tiny), SchemaError);
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += R"({"items":)";
  deep += "true";
  for (int i = 0; i < 100; ++i) deep += "}";
  json::parse_options deep_ok;
  deep_ok.max_depth = 1000;
  EXPECT_THROW(CompiledSchema::compile(json::parse(deep, {}, deep_ok)), SchemaError);
  EXPECT_THROW(S(R"({"pattern":")" + std::string(2000, 'a') + R"("})"), SchemaError);

  // Validation work: uniqueItems over a large array, nested anyOf blow-up.
  SchemaLimits small;
  small.max_work = 1000;
  json::array big;
  for (int i = 0; i < 200; ++i) big.push_back(i);
  auto r = S(R"({"uniqueItems":true})", small)->validate(big);
  EXPECT_FALSE(r.valid);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "/: arguments too complex to validate");
  r = S(R"({"items":{"anyOf":[{"type":"string"},{"type":"number"}]}})", small)->validate(big);
  EXPECT_TRUE(r.valid);
  json::array bigger;
  for (int i = 0; i < 2000; ++i) bigger.push_back(i);
  r = S(R"({"items":{"anyOf":[{"type":"string"},{"type":"number"}]}})", small)->validate(bigger);
  EXPECT_FALSE(r.valid);

  // Instance depth.
  SchemaLimits shallow;
  shallow.max_depth = 10;
  json::value v = 1;
  for (int i = 0; i < 20; ++i) v = json::array{v};
  r = S(R"({"$defs":{"n":{"anyOf":[{"type":"integer"},{"items":{"$ref":"#/$defs/n"}}]}},"$ref":"#/$defs/n"})", shallow)
          ->validate(v);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.errors[0], "/: arguments nested too deep");
}

TEST(JsonSchema, CompiledOnceUsedFromManyThreads) {
  auto s = S(R"({"type":"object","properties":{"n":{"type":"string","pattern":"^[a-z]+$"}}})");
  std::vector<std::thread> ts;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (s->validate(json::parse(R"({"n":"abc"})")).valid) ++good;
        if (!s->validate(json::parse(R"({"n":"ABC"})")).valid) ++good;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), 4000);
}

}  // namespace
}  // namespace pc::mcp
