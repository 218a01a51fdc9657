#include "mcp/json_schema.h"

#include <re2/re2.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

namespace pc::mcp {

namespace json = boost::json;

namespace {

enum TypeBit : unsigned {
  t_null = 1,
  t_boolean = 2,
  t_object = 4,
  t_array = 8,
  t_number = 16,
  t_string = 32,
  t_integer = 64,
};

struct Node {
  enum class Mode { normal, always_true, always_false } mode = Mode::normal;
  unsigned types = 0;  // 0: any
  std::optional<json::value> const_value;
  std::optional<std::vector<json::value>> enum_values;
  std::optional<json::value> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  std::optional<std::uint64_t> min_length, max_length, min_items, max_items, min_properties, max_properties;
  std::optional<std::uint64_t> min_contains, max_contains;
  int pattern = -1;
  std::map<std::string, int, std::less<>> properties;
  std::vector<std::pair<int, int>> pattern_properties;  // regex, node
  int additional_properties = -1;
  std::vector<std::string> required;
  std::vector<std::pair<std::string, std::vector<std::string>>> dependent_required;
  std::vector<std::pair<std::string, int>> dependent_schemas;
  int property_names = -1;
  std::vector<int> prefix_items;
  int items = -1;
  int contains = -1;
  bool unique_items = false;
  std::vector<int> all_of, any_of, one_of;
  int not_ = -1, if_ = -1, then_ = -1, else_ = -1;
  int ref = -1;
};

}  // namespace

struct CompiledSchema::Impl {
  std::vector<Node> nodes;
  std::vector<std::unique_ptr<RE2>> regexes;
  SchemaLimits limits;
};

namespace {

// ---------------------------------------------------------------------------------------------
// Values

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

bool is_integral(const json::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  if (v.is_double()) {
    const double d = v.get_double();
    return std::isfinite(d) && std::trunc(d) == d;
  }
  return false;
}

double as_double(const json::value& v) {
  if (v.is_int64()) return double(v.get_int64());
  if (v.is_uint64()) return double(v.get_uint64());
  return v.get_double();
}

// -1, 0, 1. Integers compare exactly; anything with a fraction compares as doubles.
int compare_numbers(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) return a.get_int64() < b.get_int64() ? -1 : a.get_int64() > b.get_int64();
  if (a.is_uint64() && b.is_uint64()) return a.get_uint64() < b.get_uint64() ? -1 : a.get_uint64() > b.get_uint64();
  if (a.is_int64() && b.is_uint64()) return a.get_int64() < 0 ? -1 : (std::uint64_t(a.get_int64()) < b.get_uint64() ? -1 : std::uint64_t(a.get_int64()) > b.get_uint64());
  if (a.is_uint64() && b.is_int64()) return -compare_numbers(b, a);
  const double x = as_double(a), y = as_double(b);
  return x < y ? -1 : x > y;
}

// JSON Schema equality: numbers by value (1 == 1.0), objects regardless of member order.
bool json_equal(const json::value& a, const json::value& b) {
  if (is_number(a) && is_number(b)) return compare_numbers(a, b) == 0;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::null: return true;
    case json::kind::bool_: return a.get_bool() == b.get_bool();
    case json::kind::string: return a.get_string() == b.get_string();
    case json::kind::array: {
      const auto& x = a.get_array();
      const auto& y = b.get_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!json_equal(x[i], y[i])) return false;
      return true;
    }
    case json::kind::object: {
      const auto& x = a.get_object();
      const auto& y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& kv : x) {
        const json::value* other = y.if_contains(kv.key());
        if (!other || !json_equal(kv.value(), *other)) return false;
      }
      return true;
    }
    default: return false;
  }
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// At most `max` bytes of s, cut at a code point boundary.
std::string_view cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// A schema's number for an error message: integers as they are, others in the shortest form
// that reads back the same (1.5, not Boost's 1.5E0).
std::string number_text(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());
  return std::string(buf, r.ptr);
}

// ---------------------------------------------------------------------------------------------
// Compiling

class Compiler {
 public:
  Compiler(const json::value& root, const SchemaLimits& limits, CompiledSchema::Impl& out)
      : root_(root), limits_(limits), out_(out) {}

  int compile_root() { return compile_at("", root_, 0); }

  // No cycle of in-place applicators ($ref, allOf, anyOf, oneOf, not, if/then/else,
  // dependentSchemas): such a cycle would recurse without ever descending into the instance.
  void check_cycles() {
    std::vector<int> state(out_.nodes.size(), 0);  // 0 new, 1 on the path, 2 done
    for (int i = 0; i < int(out_.nodes.size()); ++i) visit(i, state);
  }

 private:
  [[noreturn]] static void fail(std::string why) { throw SchemaError("invalid inputSchema: " + why); }

  void visit(int root, std::vector<int>& state) {
    // Iterative DFS (the graph may be as deep as max_nodes).
    if (state[root] != 0) return;
    std::vector<std::pair<int, std::size_t>> stack{{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      const auto edges = in_place(out_.nodes[n]);
      if (next < edges.size()) {
        const int m = edges[next++];
        if (state[m] == 1) fail("$ref cycle");
        if (state[m] == 0) {
          state[m] = 1;
          stack.emplace_back(m, 0);
        }
      } else {
        state[n] = 2;
        stack.pop_back();
      }
    }
  }

  static std::vector<int> in_place(const Node& n) {
    std::vector<int> e;
    for (int x : {n.ref, n.not_, n.if_, n.then_, n.else_})
      if (x >= 0) e.push_back(x);
    for (const auto* list : {&n.all_of, &n.any_of, &n.one_of}) e.insert(e.end(), list->begin(), list->end());
    for (const auto& d : n.dependent_schemas) e.push_back(d.second);
    return e;
  }

  int new_node() {
    if (out_.nodes.size() >= limits_.max_nodes) fail("too many subschemas");
    out_.nodes.emplace_back();
    return int(out_.nodes.size()) - 1;
  }

  // The schema at JSON pointer `pointer` of the document (memoized so $ref targets compile once
  // and recursive references close into a graph).
  int compile_at(const std::string& pointer, const json::value& v, std::size_t depth) {
    if (auto it = by_pointer_.find(pointer); it != by_pointer_.end()) return it->second;
    const int idx = new_node();
    by_pointer_[pointer] = idx;
    Node n = build(v, pointer, depth);
    out_.nodes[idx] = std::move(n);
    return idx;
  }

  int sub(const std::string& pointer, const json::value& v, std::size_t depth) {
    return compile_at(pointer, v, depth + 1);
  }

  static std::string escape(std::string_view key) {
    std::string s;
    for (char c : key) {
      if (c == '~') s += "~0";
      else if (c == '/') s += "~1";
      else s += c;
    }
    return s;
  }

  int resolve_ref(std::string_view ref, std::size_t depth) {
    if (ref.empty() || ref[0] != '#') fail("$ref must be local (\"#...\")");
    std::string_view p = ref.substr(1);
    // Percent-decoding of the fragment (RFC 6901 §6).
    std::string pointer;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p[i] == '%') {
        auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          return -1;
        };
        if (i + 2 >= p.size()) fail("$ref: bad percent-encoding");
        const int h = hex(p[i + 1]);
        const int l = hex(p[i + 2]);
        if (h < 0 || l < 0) fail("$ref: bad percent-encoding");
        pointer += char(h * 16 + l);
        i += 2;
      } else {
        pointer += p[i];
      }
    }
    if (!pointer.empty() && pointer[0] != '/') fail("$ref: anchors are not supported");
    // Walk the pointer from the root, rebuilding it in canonical form for the memo.
    const json::value* at = &root_;
    std::string canonical;
    std::size_t pos = 0;
    while (pos < pointer.size()) {
      std::size_t next = pointer.find('/', pos + 1);
      if (next == std::string::npos) next = pointer.size();
      std::string token;
      for (std::size_t i = pos + 1; i < next; ++i) {
        if (pointer[i] == '~') {
          if (i + 1 >= next || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) fail("$ref: bad JSON pointer");
          token += pointer[i + 1] == '0' ? '~' : '/';
          ++i;
        } else {
          token += pointer[i];
        }
      }
      if (const auto* o = at->if_object()) {
        at = o->if_contains(token);
      } else if (const auto* a = at->if_array()) {
        std::size_t index = 0;
        if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) fail("$ref does not resolve");
        for (char c : token) {
          if (c < '0' || c > '9') fail("$ref does not resolve");
          index = index * 10 + std::size_t(c - '0');
        }
        at = index < a->size() ? &(*a)[index] : nullptr;
      } else {
        at = nullptr;
      }
      if (!at) fail("$ref does not resolve");
      canonical += "/" + escape(token);
      pos = next;
    }
    return compile_at(canonical, *at, depth + 1);
  }

  static std::uint64_t count_value(const json::value& v, const char* keyword) {
    if (v.is_int64() && v.get_int64() >= 0) return std::uint64_t(v.get_int64());
    if (v.is_uint64()) return v.get_uint64();
    if (v.is_double() && is_integral(v) && v.get_double() >= 0 && v.get_double() < 1.8e19)
      return std::uint64_t(v.get_double());
    fail(std::string(keyword) + " must be a non-negative integer");
  }

  static json::value number_value(const json::value& v, const char* keyword) {
    if (!is_number(v)) fail(std::string(keyword) + " must be a number");
    return v;
  }

  int regex(std::string_view pattern) {
    if (pattern.size() > limits_.max_pattern_bytes) fail("pattern too long");
    std::string key(pattern);
    if (auto it = regex_index_.find(key); it != regex_index_.end()) return it->second;
    if (out_.regexes.size() >= limits_.max_patterns) fail("too many patterns");
    RE2::Options opt;
    opt.set_log_errors(false);
    opt.set_max_mem(2 << 20);  // bounds the compiled program of one pattern
    auto re = std::make_unique<RE2>(key, opt);
    if (!re->ok()) fail("pattern not supported (RE2 syntax)");
    out_.regexes.push_back(std::move(re));
    const int idx = int(out_.regexes.size()) - 1;
    regex_index_.emplace(std::move(key), idx);
    return idx;
  }

  static unsigned type_bit(std::string_view name) {
    if (name == "null") return t_null;
    if (name == "boolean") return t_boolean;
    if (name == "object") return t_object;
    if (name == "array") return t_array;
    if (name == "number") return t_number;
    if (name == "string") return t_string;
    if (name == "integer") return t_integer;
    fail("unknown type");
  }

  std::vector<int> schema_list(const json::value& v, const std::string& pointer, const char* keyword,
                               std::size_t depth) {
    const auto* a = v.if_array();
    if (!a || a->empty()) fail(std::string(keyword) + " must be a non-empty array of schemas");
    std::vector<int> out;
    for (std::size_t i = 0; i < a->size(); ++i)
      out.push_back(sub(pointer + "/" + keyword + "/" + std::to_string(i), (*a)[i], depth));
    return out;
  }

  static std::vector<std::string> string_list(const json::value& v, const char* keyword) {
    const auto* a = v.if_array();
    if (!a) fail(std::string(keyword) + " must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : *a) {
      if (!e.is_string()) fail(std::string(keyword) + " must be an array of strings");
      out.emplace_back(e.get_string());
    }
    return out;
  }

  Node build(const json::value& v, const std::string& pointer, std::size_t depth) {
    if (depth > limits_.max_schema_depth) fail("schema nested too deep");
    Node n;
    if (v.is_bool()) {
      n.mode = v.get_bool() ? Node::Mode::always_true : Node::Mode::always_false;
      return n;
    }
    const auto* o = v.if_object();
    if (!o) fail("a schema must be an object or a boolean");

    for (const auto& kv : *o) {
      const std::string_view k = kv.key();
      const json::value& x = kv.value();
      const std::string here = pointer + "/" + escape(k);
      if (k == "type") {
        if (x.is_string()) {
          n.types = type_bit(x.get_string());
        } else if (const auto* a = x.if_array(); a && !a->empty()) {
          for (const auto& t : *a) {
            if (!t.is_string()) fail("type must be a string or an array of strings");
            n.types |= type_bit(t.get_string());
          }
        } else {
          fail("type must be a string or an array of strings");
        }
      } else if (k == "enum") {
        const auto* a = x.if_array();
        if (!a) fail("enum must be an array");
        n.enum_values.emplace(a->begin(), a->end());
      } else if (k == "const") {
        n.const_value = x;
      } else if (k == "minimum") {
        n.minimum = number_value(x, "minimum");
      } else if (k == "maximum") {
        n.maximum = number_value(x, "maximum");
      } else if (k == "exclusiveMinimum") {
        n.exclusive_minimum = number_value(x, "exclusiveMinimum");  // draft-04's boolean form is refused
      } else if (k == "exclusiveMaximum") {
        n.exclusive_maximum = number_value(x, "exclusiveMaximum");
      } else if (k == "multipleOf") {
        n.multiple_of = number_value(x, "multipleOf");
        if (as_double(x) <= 0) fail("multipleOf must be greater than 0");
      } else if (k == "minLength") {
        n.min_length = count_value(x, "minLength");
      } else if (k == "maxLength") {
        n.max_length = count_value(x, "maxLength");
      } else if (k == "pattern") {
        if (!x.is_string()) fail("pattern must be a string");
        n.pattern = regex(x.get_string());
      } else if (k == "properties") {
        const auto* p = x.if_object();
        if (!p) fail("properties must be an object");
        for (const auto& pkv : *p)
          n.properties.emplace(std::string(pkv.key()), sub(here + "/" + escape(pkv.key()), pkv.value(), depth));
      } else if (k == "patternProperties") {
        const auto* p = x.if_object();
        if (!p) fail("patternProperties must be an object");
        for (const auto& pkv : *p)
          n.pattern_properties.emplace_back(regex(pkv.key()), sub(here + "/" + escape(pkv.key()), pkv.value(), depth));
      } else if (k == "additionalProperties") {
        n.additional_properties = sub(here, x, depth);
      } else if (k == "required") {
        n.required = string_list(x, "required");
      } else if (k == "propertyNames") {
        n.property_names = sub(here, x, depth);
      } else if (k == "minProperties") {
        n.min_properties = count_value(x, "minProperties");
      } else if (k == "maxProperties") {
        n.max_properties = count_value(x, "maxProperties");
      } else if (k == "dependentRequired") {
        const auto* p = x.if_object();
        if (!p) fail("dependentRequired must be an object");
        for (const auto& pkv : *p)
          n.dependent_required.emplace_back(std::string(pkv.key()), string_list(pkv.value(), "dependentRequired"));
      } else if (k == "dependentSchemas") {
        const auto* p = x.if_object();
        if (!p) fail("dependentSchemas must be an object");
        for (const auto& pkv : *p)
          n.dependent_schemas.emplace_back(std::string(pkv.key()), sub(here + "/" + escape(pkv.key()), pkv.value(), depth));
      } else if (k == "prefixItems") {
        n.prefix_items = schema_list(x, pointer, "prefixItems", depth);
      } else if (k == "items") {
        if (x.is_array()) {
          // Draft-07 tuple form (many generators still emit it): read as prefixItems, with
          // additionalItems as the schema of the rest.
          n.prefix_items = schema_list(x, pointer, "items", depth);
        } else {
          n.items = sub(here, x, depth);
        }
      } else if (k == "contains") {
        n.contains = sub(here, x, depth);
      } else if (k == "minContains") {
        n.min_contains = count_value(x, "minContains");
      } else if (k == "maxContains") {
        n.max_contains = count_value(x, "maxContains");
      } else if (k == "minItems") {
        n.min_items = count_value(x, "minItems");
      } else if (k == "maxItems") {
        n.max_items = count_value(x, "maxItems");
      } else if (k == "uniqueItems") {
        if (!x.is_bool()) fail("uniqueItems must be a boolean");
        n.unique_items = x.get_bool();
      } else if (k == "allOf") {
        n.all_of = schema_list(x, pointer, "allOf", depth);
      } else if (k == "anyOf") {
        n.any_of = schema_list(x, pointer, "anyOf", depth);
      } else if (k == "oneOf") {
        n.one_of = schema_list(x, pointer, "oneOf", depth);
      } else if (k == "not") {
        n.not_ = sub(here, x, depth);
      } else if (k == "if") {
        n.if_ = sub(here, x, depth);
      } else if (k == "then") {
        n.then_ = sub(here, x, depth);
      } else if (k == "else") {
        n.else_ = sub(here, x, depth);
      } else if (k == "$ref") {
        if (!x.is_string()) fail("$ref must be a string");
        n.ref = resolve_ref(x.get_string(), depth);
      } else if (k == "$dynamicRef" || k == "$recursiveRef") {
        fail(std::string(k) + " is not supported");
      } else if (k == "unevaluatedProperties" || k == "unevaluatedItems") {
        if (!(x.is_bool() && x.get_bool())) fail(std::string(k) + " is not supported");
      }
      // Everything else (format, title, description, default, examples, $schema, $id, $comment,
      // $defs, definitions, readOnly, …) is an annotation or unknown: ignored.
    }
    // Draft-07 additionalItems, meaningful only after a tuple-form items.
    if (const json::value* ai = o->if_contains("additionalItems"); ai && n.items < 0 && !n.prefix_items.empty() &&
                                                                   o->contains("items") && o->at("items").is_array())
      n.items = sub(pointer + "/additionalItems", *ai, depth);
    if (n.if_ < 0) n.then_ = n.else_ = -1;  // then/else without if have no effect
    return n;
  }

  const json::value& root_;
  const SchemaLimits& limits_;
  CompiledSchema::Impl& out_;
  std::map<std::string, int> by_pointer_;
  std::map<std::string, int> regex_index_;
};

// ---------------------------------------------------------------------------------------------
// Validating

class Validator {
 public:
  Validator(const CompiledSchema::Impl& s, std::vector<std::string>& errors) : s_(s), errors_(errors) {}

  bool run(const json::value& v) {
    const bool ok = check(0, v, 0, true);
    if (stopped_) {
      errors_.clear();
      errors_.push_back(std::string("/: ") + stop_reason_);
      return false;
    }
    if (!ok && errors_.empty()) errors_.push_back("/: invalid");
    return ok;
  }

 private:
  // `report`: record errors (false inside anyOf/oneOf/not/if/contains probes, whose failures are
  // expected and summarized by the caller).
  bool check(int idx, const json::value& v, std::size_t depth, bool report) {
    if (stopped_) return false;
    if (++work_ > s_.limits.max_work) return stop("arguments too complex to validate");
    if (depth > s_.limits.max_depth) return stop("arguments nested too deep");
    const Node& n = s_.nodes[idx];
    if (n.mode == Node::Mode::always_true) return true;
    if (n.mode == Node::Mode::always_false) return error(report, "not allowed");

    bool ok = true;
    // Each failed keyword counts; probes stop at the first.
    auto failed = [&](const std::string& why) {
      ok = false;
      error(report, why);
      return !report || errors_.size() >= s_.limits.max_errors;  // true: stop checking this node
    };

    if (n.types) {
      unsigned have = 0;
      switch (v.kind()) {
        case json::kind::null: have = t_null; break;
        case json::kind::bool_: have = t_boolean; break;
        case json::kind::object: have = t_object; break;
        case json::kind::array: have = t_array; break;
        case json::kind::string: have = t_string; break;
        default: have = t_number | (is_integral(v) ? t_integer : 0u); break;
      }
      if (!(have & n.types)) {
        // Type mismatch: the other keywords would only repeat it.
        failed("expected " + type_names(n.types));
        return false;
      }
    }
    if (n.const_value && !json_equal(*n.const_value, v) && failed("not the allowed value")) return false;
    if (n.enum_values) {
      work_ += n.enum_values->size();
      bool found = false;
      for (const auto& e : *n.enum_values)
        if (json_equal(e, v)) {
          found = true;
          break;
        }
      if (!found && failed("not one of the allowed values")) return false;
    }

    if (is_number(v)) {
      if (n.minimum && compare_numbers(v, *n.minimum) < 0 && failed("must be >= " + number_text(*n.minimum))) return false;
      if (n.maximum && compare_numbers(v, *n.maximum) > 0 && failed("must be <= " + number_text(*n.maximum))) return false;
      if (n.exclusive_minimum && compare_numbers(v, *n.exclusive_minimum) <= 0 &&
          failed("must be > " + number_text(*n.exclusive_minimum)))
        return false;
      if (n.exclusive_maximum && compare_numbers(v, *n.exclusive_maximum) >= 0 &&
          failed("must be < " + number_text(*n.exclusive_maximum)))
        return false;
      if (n.multiple_of && !multiple(v, *n.multiple_of) && failed("must be a multiple of " + number_text(*n.multiple_of)))
        return false;
    } else if (const auto* s = v.if_string()) {
      const std::string_view text = *s;
      if (n.min_length || n.max_length) {
        const std::size_t len = code_points(text);
        if (n.min_length && len < *n.min_length && failed("shorter than " + std::to_string(*n.min_length) + " characters"))
          return false;
        if (n.max_length && len > *n.max_length && failed("longer than " + std::to_string(*n.max_length) + " characters"))
          return false;
      }
      if (n.pattern >= 0) {
        work_ += text.size() / 64;
        if (!RE2::PartialMatch(text, *s_.regexes[n.pattern]) && failed("does not match the pattern")) return false;
      }
    } else if (const auto* o = v.if_object()) {
      if (!check_object(n, *o, depth, report, failed)) {
        ok = false;
        if (!report || stopped_ || errors_.size() >= s_.limits.max_errors) return false;
      }
    } else if (const auto* a = v.if_array()) {
      if (!check_array(n, *a, depth, report, failed)) {
        ok = false;
        if (!report || stopped_ || errors_.size() >= s_.limits.max_errors) return false;
      }
    }

    // In-place applicators: same instance, same path.
    if (n.ref >= 0 && !check(n.ref, v, depth + 1, report)) {
      ok = false;
      if (!report || stopped_) return false;
    }
    for (int x : n.all_of)
      if (!check(x, v, depth + 1, report)) {
        ok = false;
        if (!report || stopped_) return false;
      }
    if (!n.any_of.empty()) {
      bool any = false;
      for (int x : n.any_of)
        if (check(x, v, depth + 1, false)) {
          any = true;
          break;
        }
      if (stopped_) return false;
      if (!any && failed("does not match any schema of anyOf")) return false;
    }
    if (!n.one_of.empty()) {
      std::size_t matches = 0;
      for (int x : n.one_of)
        if (check(x, v, depth + 1, false) && ++matches > 1) break;
      if (stopped_) return false;
      if (matches != 1 && failed(matches == 0 ? "does not match any schema of oneOf"
                                              : "matches more than one schema of oneOf"))
        return false;
    }
    if (n.not_ >= 0) {
      const bool m = check(n.not_, v, depth + 1, false);
      if (stopped_) return false;
      if (m && failed("must not match the schema of not")) return false;
    }
    if (n.if_ >= 0) {
      const bool cond = check(n.if_, v, depth + 1, false);
      if (stopped_) return false;
      const int branch = cond ? n.then_ : n.else_;
      if (branch >= 0 && !check(branch, v, depth + 1, report)) {
        ok = false;
        if (!report || stopped_) return false;
      }
    }
    if (const auto* o = v.if_object()) {
      for (const auto& [name, schema] : n.dependent_schemas)
        if (o->contains(name) && !check(schema, v, depth + 1, report)) {
          ok = false;
          if (!report || stopped_) return false;
        }
    }
    return ok;
  }

  template <typename Failed>
  bool check_object(const Node& n, const json::object& o, std::size_t depth, bool report, Failed& failed) {
    bool ok = true;
    auto fail_here = [&](const std::string& why) {
      ok = false;
      return failed(why);
    };
    if (n.min_properties && o.size() < *n.min_properties &&
        fail_here("fewer than " + std::to_string(*n.min_properties) + " properties"))
      return false;
    if (n.max_properties && o.size() > *n.max_properties &&
        fail_here("more than " + std::to_string(*n.max_properties) + " properties"))
      return false;
    for (const auto& r : n.required)
      if (!o.contains(r) && fail_here("missing required property \"" + std::string(cut(r, 64)) + "\"")) return false;
    for (const auto& [name, needed] : n.dependent_required)
      if (o.contains(name))
        for (const auto& r : needed)
          if (!o.contains(r) && fail_here("missing property \"" + std::string(cut(r, 64)) + "\" (dependentRequired)"))
            return false;

    const bool member_rules = !n.properties.empty() || !n.pattern_properties.empty() ||
                              n.additional_properties >= 0 || n.property_names >= 0;
    if (!member_rules) return ok;
    for (const auto& kv : o) {
      const std::string_view key = kv.key();
      const std::size_t mark = push(key);
      if (n.property_names >= 0) {
        const bool good = check(n.property_names, json::value(key), depth + 1, false);
        if (stopped_) return false;
        if (!good && fail_here("property name not allowed")) return pop(mark), false;
      }
      bool matched = false;
      if (auto it = n.properties.find(key); it != n.properties.end()) {
        matched = true;
        if (!check(it->second, kv.value(), depth + 1, report)) {
          ok = false;
          if (!report || stopped_ || errors_.size() >= s_.limits.max_errors) return pop(mark), false;
        }
      }
      for (const auto& [re, schema] : n.pattern_properties) {
        work_ += 1 + key.size() / 64;
        if (!RE2::PartialMatch(key, *s_.regexes[re])) continue;
        matched = true;
        if (!check(schema, kv.value(), depth + 1, report)) {
          ok = false;
          if (!report || stopped_ || errors_.size() >= s_.limits.max_errors) return pop(mark), false;
        }
      }
      if (!matched && n.additional_properties >= 0) {
        const Node& extra = s_.nodes[n.additional_properties];
        if (extra.mode == Node::Mode::always_false) {
          if (fail_here("property not allowed")) return pop(mark), false;
        } else if (!check(n.additional_properties, kv.value(), depth + 1, report)) {
          ok = false;
          if (!report || stopped_ || errors_.size() >= s_.limits.max_errors) return pop(mark), false;
        }
      }
      pop(mark);
    }
    return ok;
  }

  template <typename Failed>
  bool check_array(const Node& n, const json::array& a, std::size_t depth, bool report, Failed& failed) {
    bool ok = true;
    auto fail_here = [&](const std::string& why) {
      ok = false;
      return failed(why);
    };
    if (n.min_items && a.size() < *n.min_items && fail_here("fewer than " + std::to_string(*n.min_items) + " items"))
      return false;
    if (n.max_items && a.size() > *n.max_items && fail_here("more than " + std::to_string(*n.max_items) + " items"))
      return false;
    if (n.unique_items && a.size() > 1) {
      const std::size_t pairs = a.size() * (a.size() - 1) / 2;
      if (pairs > s_.limits.max_work - std::min(work_, s_.limits.max_work)) return stop("arguments too complex to validate");
      work_ += pairs;
      bool unique = true;
      for (std::size_t i = 0; i < a.size() && unique; ++i)
        for (std::size_t j = i + 1; j < a.size(); ++j)
          if (json_equal(a[i], a[j])) {
            unique = false;
            break;
          }
      if (!unique && fail_here("items are not unique")) return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      int schema = -1;
      if (i < n.prefix_items.size()) schema = n.prefix_items[i];
      else if (n.items >= 0) schema = n.items;
      if (schema < 0) break;
      const std::string index = std::to_string(i);
      const std::size_t mark = push(index);
      if (s_.nodes[schema].mode == Node::Mode::always_false) {
        if (fail_here("item not allowed")) return pop(mark), false;
      } else if (!check(schema, a[i], depth + 1, report)) {
        ok = false;
        if (!report || stopped_ || errors_.size() >= s_.limits.max_errors) return pop(mark), false;
      }
      pop(mark);
    }
    if (n.contains >= 0) {
      std::uint64_t matches = 0;
      for (const auto& e : a)
        if (check(n.contains, e, depth + 1, false)) ++matches;
      if (stopped_) return false;
      const std::uint64_t least = n.min_contains.value_or(1);
      if (matches < least && fail_here("too few items match contains")) return false;
      if (n.max_contains && matches > *n.max_contains && fail_here("too many items match contains")) return false;
    }
    return ok;
  }

  static bool multiple(const json::value& v, const json::value& m) {
    if ((v.is_int64() || v.is_uint64()) && (m.is_int64() || m.is_uint64())) {
      if (v.is_int64() && m.is_int64()) return v.get_int64() % m.get_int64() == 0;
      const std::uint64_t mm = m.is_int64() ? std::uint64_t(m.get_int64()) : m.get_uint64();
      const std::uint64_t vv = v.is_uint64() ? v.get_uint64()
                                             : (v.get_int64() < 0 ? std::uint64_t(0) - std::uint64_t(v.get_int64())
                                                                  : std::uint64_t(v.get_int64()));
      return vv % mm == 0;
    }
    const double q = as_double(v) / as_double(m);
    if (!std::isfinite(q)) return false;
    return std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
  }

  static std::string type_names(unsigned types) {
    static constexpr std::pair<unsigned, const char*> names[] = {
        {t_object, "object"}, {t_array, "array"},   {t_string, "string"}, {t_integer, "integer"},
        {t_number, "number"}, {t_boolean, "boolean"}, {t_null, "null"}};
    std::string out;
    for (const auto& [bit, name] : names)
      if (types & bit) {
        if (bit == t_integer && (types & t_number)) continue;  // number covers it
        if (!out.empty()) out += " or ";
        out += name;
      }
    return out;
  }

  bool error(bool report, const std::string& why) {
    if (report && errors_.size() < s_.limits.max_errors) {
      std::string where = path_.empty() ? "/" : path_;
      if (where.size() > 200) {
        // The tail (the most specific part), starting on a code point boundary.
        std::size_t from = where.size() - 200;
        while (from < where.size() && (static_cast<unsigned char>(where[from]) & 0xC0) == 0x80) ++from;
        where = "…" + where.substr(from);
      }
      errors_.push_back(where + ": " + why);
    }
    return false;
  }

  bool stop(const char* why) {
    stopped_ = true;
    stop_reason_ = why;
    return false;
  }

  std::size_t push(std::string_view segment) {
    const std::size_t mark = path_.size();
    path_ += '/';
    for (char c : cut(segment, 64)) {
      if (c == '~') path_ += "~0";
      else if (c == '/') path_ += "~1";
      else path_ += c;
    }
    return mark;
  }
  void pop(std::size_t mark) { path_.resize(mark); }

  const CompiledSchema::Impl& s_;
  std::vector<std::string>& errors_;
  std::string path_;
  std::size_t work_ = 0;
  bool stopped_ = false;
  const char* stop_reason_ = "";
};

}  // namespace

CompiledSchema::CompiledSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledSchema::~CompiledSchema() = default;

std::shared_ptr<const CompiledSchema> CompiledSchema::compile(const json::value& schema, const SchemaLimits& limits) {
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  Compiler c(schema, impl->limits, *impl);
  c.compile_root();
  c.check_cycles();
  return std::make_shared<const CompiledSchema>(std::move(impl));
}

ValidationResult CompiledSchema::validate(const json::value& instance) const {
  ValidationResult r;
  Validator v(*impl_, r.errors);
  r.valid = v.run(instance);
  if (r.valid) r.errors.clear();
  return r;
}

}  // namespace pc::mcp
