// The invoke route's answer side: what the runtime answered (docs/agent-runtime-contract.md),
// read into a result, and the SPEC §5 answers built from it. Pure functions, unit-tested in
// tests/unit/api/invoke_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "net/http.h"

namespace pc::api {

// Token counts as the runtime reported them; nullopt = not reported (shown as null, never 0).
struct Usage {
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int64_t> output_tokens;
};

struct RuntimeResult {
  bool ok = false;
  boost::json::value output;  // ok: the runtime's output
  Usage usage;
  int runtime_status = 0;
  std::string error;    // !ok: "agent_error" (the runtime refused or failed) or "agent_bad_response"
  std::string message;  // !ok: for the caller and the record; never the runtime's body
};

// A 2xx JSON answer: `{"output": …, "usage"?: {inputTokens, outputTokens}}` gives its output and
// usage; any other JSON value is the output as a whole (usage unknown). A 2xx answer that is not
// JSON is agent_bad_response; a 4xx/5xx is agent_error (the runtime's status is kept).
RuntimeResult read_runtime_answer(int status, std::string_view body);

// Usage from an object's "usage" member (inputTokens/outputTokens: non-negative integers; anything
// else is "not reported").
Usage usage_of(const boost::json::value& v);

// What the sync answer and the job result share (SPEC §5).
struct AnswerMeta {
  std::string invocation_id;
  std::string agent_name;
  std::string agent_version;
  std::string mode;
  std::string session_id;
  std::string timestamp;  // RFC 3339, when the call arrived
  std::int64_t latency_ms = 0;
};

// 200 {invocationId, agentName, agentVersion, mode, status:"succeeded", output, sessionId,
// usage:{inputTokens, outputTokens, latencyMs}, timestamp}.
std::string sync_answer_body(const AnswerMeta& m, const RuntimeResult& r);

// The caller's answer for a failed runtime call: 502 {error:{code, message, requestId,
// details:[{runtimeStatus}]}} (details only when the runtime answered with a status).
net::Response runtime_failure(const RuntimeResult& r, std::string_view request_id);

// A streamed answer's record: the usage of its last `event: done` whose data is a JSON object
// with "usage" (the example agent's and the contract's shape), else unknown.
Usage usage_from_sse(std::string_view captured);

}  // namespace pc::api
