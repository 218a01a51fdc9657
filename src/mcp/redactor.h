// PII and secret redaction (SPEC §7, docs/redaction.md): every span a detector finds in a text is
// replaced by `[REDACTED:<kind>]`, and the number of spans per kind is counted (never the values).
//
// The built-in detectors run as ONE Hyperscan database in one pass over the text; each match is
// then validated (Luhn, IBAN mod 97, SSN area rules, token boundaries, JWT header, ...) so shapes
// that merely look like PII are left alone. Custom patterns (RE2 syntax, the configuration's
// `redaction.custom`) run with RE2. Overlapping spans are merged and the merged span is labelled
// with the most specific kind, so no part of a detected value is ever left in the clear.
//
// A Redactor is immutable once built and safe to use from any number of threads: each thread
// gets its own Hyperscan scratch space (cloned once per thread and Redactor, cached thread-locally).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pc::mcp {

class Redactor {
 public:
  // Every built-in kind, in priority order (the first wins when spans of two kinds overlap).
  static const std::vector<std::string>& builtin_kinds();

  // Throws std::invalid_argument when a built-in kind is unknown, a custom pattern does not
  // compile with RE2 (the message names the pattern by its name), a custom name clashes with a
  // built-in kind, or Hyperscan refuses the database.
  explicit Redactor(const core::RedactionConfig& config);
  ~Redactor();
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  // The kinds this Redactor reports, by index: the enabled built-ins first, then custom names.
  const std::vector<std::string>& kinds() const { return kinds_; }

  // Counts per kind index (same order as kinds()). Sized by redact() on first use.
  using Counts = std::vector<std::uint64_t>;

  // The text with every detected span replaced, or nullopt when nothing was found (the common
  // case allocates nothing). Adds one to counts[kind] per (merged) span.
  std::optional<std::string> redact(std::string_view text, Counts& counts) const;

  // Convenience for tests and callers that want names: the redacted text (or the same text).
  std::string redact_copy(std::string_view text, std::map<std::string, std::uint64_t>* counts = nullptr) const;

  // Adds non-zero counts to a name-keyed map (ResponseFacts::redactions).
  void add_counts(const Counts& counts, std::map<std::string, std::uint64_t>& out) const;

  // A detected span [begin, end) with its kind index. Sorted by begin, never overlapping.
  struct Span {
    std::size_t begin;
    std::size_t end;
    std::size_t kind;
  };
  std::vector<Span> find(std::string_view text) const;

  // Test hook: called with each text before it is scanned; a throw from it propagates out of
  // redact()/find(). Lets the response guards prove that a failing detector fails the call
  // closed. Never set in production.
  void set_fault_hook_for_test(std::function<void(std::string_view)> hook) { fault_hook_ = std::move(hook); }

 private:
  struct Impl;
  void scan(std::string_view text, std::vector<Span>& spans) const;

  std::vector<std::string> kinds_;
  std::unique_ptr<Impl> impl_;
  std::function<void(std::string_view)> fault_hook_;
};

}  // namespace pc::mcp
