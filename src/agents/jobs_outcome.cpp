// The pure parts of the job service: ids, backoff, and what a runtime's answer means.
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "agents/jobs.h"
#include "crypto/random.h"

namespace pc::agents {

std::string new_job_id() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "job_%012llx", static_cast<unsigned long long>(ms));
  return prefix + crypto::random_hex(8);
}

std::chrono::milliseconds job_backoff(int failed_attempts, std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max) {
  if (failed_attempts < 1) failed_attempts = 1;
  if (initial.count() <= 0) return std::chrono::milliseconds(0);
  std::int64_t pause = initial.count();
  // Doubling stops at the cap (no overflow however many attempts are configured).
  for (int i = 1; i < failed_attempts && pause < max.count(); ++i) pause *= 2;
  return std::chrono::milliseconds(std::min<std::int64_t>(pause, max.count()));
}

namespace {

std::optional<std::int64_t> token_count(const boost::json::object& usage, std::string_view key) {
  auto it = usage.find(key);
  if (it == usage.end() || !it->value().is_number()) return std::nullopt;
  if (it->value().is_int64() && it->value().as_int64() >= 0) return it->value().as_int64();
  if (it->value().is_uint64()) return static_cast<std::int64_t>(it->value().as_uint64());
  return std::nullopt;  // negative or fractional: not a count
}

}  // namespace

AttemptOutcome classify_answer(int status, std::string_view body) {
  AttemptOutcome o;
  o.http_status = status;
  if (status < 200 || status >= 300) {
    const bool transient = status == 408 || status == 429 || status >= 500;
    o.verdict = transient ? AttemptOutcome::Verdict::retry : AttemptOutcome::Verdict::failed;
    o.error = "agent_error";
    o.message = "the agent's runtime answered HTTP " + std::to_string(status);
    return o;
  }
  boost::json::error_code ec;
  boost::json::parse_options limits;
  limits.max_depth = 64;
  boost::json::value v = boost::json::parse(body, ec, {}, limits);
  if (ec) {
    o.verdict = AttemptOutcome::Verdict::failed;
    o.error = "upstream_bad_response";
    o.message = "the agent's runtime answered with something that is not JSON";
    return o;
  }
  o.verdict = AttemptOutcome::Verdict::succeeded;
  const boost::json::object* obj = v.if_object();
  if (obj && obj->contains("output")) {
    o.output = boost::json::serialize(obj->at("output"));
    if (auto u = obj->find("usage"); u != obj->end() && u->value().is_object()) {
      o.input_tokens = token_count(u->value().as_object(), "inputTokens");
      o.output_tokens = token_count(u->value().as_object(), "outputTokens");
    }
  } else {
    o.output = boost::json::serialize(v);
  }
  return o;
}

}  // namespace pc::agents
