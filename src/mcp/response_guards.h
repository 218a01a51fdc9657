// The built-in RESPONSE interceptors of tools/call (SPEC §7), in chain order:
//   RedactionInterceptor  — PII/secret redaction over every string of the result
//   GuardrailInterceptor  — a result matching a configured deny pattern is refused (-32003)
//   SizeLimitInterceptor  — a result larger than mcp.max_result_bytes is refused (-32603)
// All three answer synchronously and fail closed: any exception inside becomes a denial with
// -32603, never a pass-through. Reasons shown to the client are fixed strings: they never quote
// what matched.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "mcp/interceptor.h"
#include "mcp/redactor.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace pc::core {
class Counter;
}  // namespace pc::core

namespace pc::mcp {

class RedactionInterceptor final : public ResponseInterceptor {
 public:
  // Counts go to ResponseFacts::redactions and to portcullis_mcp_redactions_total{kind}.
  explicit RedactionInterceptor(std::shared_ptr<const Redactor> redactor);
  std::string_view name() const override { return "redaction"; }
  void on_response(const CallContext& ctx, boost::json::value& result, bool is_error, ResponseFacts& facts,
                   DecisionDone done) const override;

 private:
  std::shared_ptr<const Redactor> redactor_;
  std::vector<core::Counter*> metric_;  // by kind index
};

class GuardrailInterceptor final : public ResponseInterceptor {
 public:
  // RE2 patterns (mcp.guardrail_deny). Throws std::invalid_argument naming the index of a
  // pattern that does not compile.
  explicit GuardrailInterceptor(const std::vector<std::string>& patterns);
  ~GuardrailInterceptor() override;
  std::string_view name() const override { return "guardrail"; }
  // Every string value AND object key is checked; a match sets facts.guardrail_hit and denies.
  void on_response(const CallContext& ctx, boost::json::value& result, bool is_error, ResponseFacts& facts,
                   DecisionDone done) const override;

  static constexpr std::string_view kReason = "result refused by a guardrail";

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SizeLimitInterceptor final : public ResponseInterceptor {
 public:
  explicit SizeLimitInterceptor(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  std::string_view name() const override { return "size_limit"; }
  // The result serialized (compact JSON) larger than max_bytes → -32603 "result too large".
  void on_response(const CallContext& ctx, boost::json::value& result, bool is_error, ResponseFacts& facts,
                   DecisionDone done) const override;

  static constexpr std::string_view kReason = "result too large";

 private:
  std::size_t max_bytes_;
};

// The reason of a denial caused by an exception inside a response guard.
inline constexpr std::string_view kGuardFailedReason = "response interceptor failed";

// The three guards in chain order, from the configuration (redaction section and mcp section).
// The guardrail interceptor is left out when no pattern is configured. Throws
// std::invalid_argument for a pattern that does not compile.
std::vector<std::shared_ptr<const ResponseInterceptor>> make_response_guards(const core::RedactionConfig& redaction,
                                                                             const core::McpConfig& mcp);

}  // namespace pc::mcp
