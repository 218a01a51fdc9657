// Tool arguments against a tool's `inputSchema` (SPEC §7): the JSON Schema draft 2020-12
// vocabulary MCP servers use, compiled once (patterns included) and then applied per call.
//
// Supported: boolean schemas; type (one or a list; integer = a number without a fraction, so 1.0
// is an integer); enum; const; minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf;
// minLength, maxLength (in code points); pattern (RE2, searched, not anchored: JSON Schema
// semantics); properties, patternProperties, additionalProperties (bool or schema), required,
// propertyNames, minProperties, maxProperties, dependentRequired, dependentSchemas; prefixItems,
// items (a schema; an array of schemas is read as draft-07's tuple form with additionalItems),
// contains, minContains, maxContains, minItems, maxItems, uniqueItems; allOf, anyOf, oneOf, not,
// if/then/else; $ref to a local JSON pointer ("#", "#/$defs/x", "#/definitions/x", …).
// Annotations (format, title, description, default, examples, …) and unknown keywords are
// ignored. Refused as invalid schemas (a call against one fails, it is never waved through):
// malformed keywords, a $ref that is not local or does not resolve, a $ref cycle that never
// reaches into the instance, a pattern RE2 cannot compile (e.g. look-ahead), unevaluatedProperties
// and unevaluatedItems other than `true` (not implemented: ignoring them would allow too much),
// $dynamicRef, and schemas over the size limits.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace pc::mcp {

struct SchemaLimits {
  std::size_t max_nodes = 4096;        // subschemas in one schema
  std::size_t max_schema_depth = 64;   // nesting of the schema document
  std::size_t max_patterns = 256;      // distinct pattern / patternProperties regexes
  std::size_t max_pattern_bytes = 1024;
  std::size_t max_depth = 256;         // validation recursion: instance nesting plus applicators
  std::size_t max_work = 200000;       // (subschema, value) checks, plus the cost of patterns and uniqueItems
  std::size_t max_errors = 8;          // reported per validation
};

// The schema itself is invalid (or beyond the limits). what(): a short reason for logs and the
// -32603 answer; it names the keyword, never quotes values.
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ValidationResult {
  bool valid = true;
  // "/path: reason" (JSON pointer of the argument, "/" for the whole), at most max_errors, each
  // short: instance values are never quoted and property names are cut to 64 bytes.
  std::vector<std::string> errors;
};

class CompiledSchema {
 public:
  // Throws SchemaError. Thread-safe to use from many threads once compiled (immutable).
  static std::shared_ptr<const CompiledSchema> compile(const boost::json::value& schema, const SchemaLimits& limits = {});
  ValidationResult validate(const boost::json::value& instance) const;

  struct Impl;
  explicit CompiledSchema(std::unique_ptr<Impl> impl);
  ~CompiledSchema();

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::mcp
