#include "mcp/response_guards.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <boost/json/serializer.hpp>
#include <stdexcept>

#include "core/metrics.h"
#include "mcp/json_strings.h"

namespace pc::mcp {
namespace json = boost::json;

namespace {

// Runs `body` and answers `done` exactly once: the body's decision, or -32603 when it threw.
// The result may be half-changed after a throw; it is never sent, the call fails.
template <class Body>
void fail_closed(const DecisionDone& done, Body&& body) {
  Decision d;
  try {
    d = body();
  } catch (...) {
    d = Decision::denied(-32603, std::string(kGuardFailedReason));
  }
  done(std::move(d));
}

core::CounterFamily& redaction_metric() {
  static auto& f = core::metrics().counter("portcullis_mcp_redactions_total",
                                           "Values redacted from MCP tool results, by detector kind", {"kind"});
  return f;
}

}  // namespace

// ---- redaction

RedactionInterceptor::RedactionInterceptor(std::shared_ptr<const Redactor> redactor) : redactor_(std::move(redactor)) {
  if (!redactor_) throw std::invalid_argument("RedactionInterceptor: no redactor");
  for (const auto& k : redactor_->kinds()) metric_.push_back(&redaction_metric().labels({k}));
}

void RedactionInterceptor::on_response(const CallContext&, json::value& result, bool, ResponseFacts& facts,
                                       DecisionDone done) const {
  fail_closed(done, [&] {
    Redactor::Counts counts;
    for_each_string(result, [&](json::string& s) {
      if (auto r = redactor_->redact(std::string_view(s), counts)) s = *r;
    });
    redactor_->add_counts(counts, facts.redactions);
    for (std::size_t i = 0; i < counts.size() && i < metric_.size(); ++i)
      if (counts[i]) metric_[i]->inc(double(counts[i]));
    return Decision::allowed();
  });
}

// ---- guardrail

struct GuardrailInterceptor::Impl {
  RE2::Options options() {
    RE2::Options o;
    o.set_log_errors(false);
    return o;
  }
  RE2::Set set{options(), RE2::UNANCHORED};
  bool empty = true;
};

GuardrailInterceptor::GuardrailInterceptor(const std::vector<std::string>& patterns) : impl_(std::make_unique<Impl>()) {
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    std::string error;
    if (impl_->set.Add(patterns[i], &error) < 0)
      throw std::invalid_argument("mcp.guardrail_deny[" + std::to_string(i) + "]: not a valid RE2 pattern");
  }
  impl_->empty = patterns.empty();
  if (!impl_->set.Compile()) throw std::invalid_argument("mcp.guardrail_deny: the patterns do not fit in memory");
}

GuardrailInterceptor::~GuardrailInterceptor() = default;

void GuardrailInterceptor::on_response(const CallContext&, json::value& result, bool, ResponseFacts& facts,
                                       DecisionDone done) const {
  fail_closed(done, [&] {
    if (impl_->empty) return Decision::allowed();
    bool hit = false;
    for_each_string(
        static_cast<const json::value&>(result),
        [&](std::string_view s) {
          if (!hit && impl_->set.Match(re2::StringPiece(s.data(), s.size()), nullptr)) hit = true;
        },
        /*include_keys=*/true);
    if (!hit) return Decision::allowed();
    facts.guardrail_hit = true;
    return Decision::denied(-32003, std::string(kReason));
  });
}

// ---- size limit

void SizeLimitInterceptor::on_response(const CallContext&, json::value& result, bool, ResponseFacts&,
                                       DecisionDone done) const {
  fail_closed(done, [&] {
    // Counted chunk by chunk, stopping at the limit: a huge result is never serialized whole.
    json::serializer sr;
    sr.reset(&result);
    char buf[16384];
    std::size_t n = 0;
    while (!sr.done()) {
      n += sr.read(buf, sizeof buf).size();
      if (n > max_bytes_) return Decision::denied(-32603, std::string(kReason));
    }
    return Decision::allowed();
  });
}

std::vector<std::shared_ptr<const ResponseInterceptor>> make_response_guards(const core::RedactionConfig& redaction,
                                                                             const core::McpConfig& mcp) {
  std::vector<std::shared_ptr<const ResponseInterceptor>> out;
  out.push_back(std::make_shared<RedactionInterceptor>(std::make_shared<const Redactor>(redaction)));
  if (!mcp.guardrail_deny.empty()) out.push_back(std::make_shared<GuardrailInterceptor>(mcp.guardrail_deny));
  out.push_back(std::make_shared<SizeLimitInterceptor>(mcp.max_result_bytes));
  return out;
}

}  // namespace pc::mcp
