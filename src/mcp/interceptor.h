// The interceptor chains of tools/call (SPEC §7). Owner: area "intercept" (framework, policy,
// schema, hooks); "redact" supplies the redaction/guardrail/size interceptors; "federation" runs
// the chains around each call and adds the credentials step.
//
// REQUEST:  policy → argument validation (inputSchema) → idempotency → credentials → [hooks]
// RESPONSE: PII redaction → guardrail deny patterns → size limits → [hooks]
//
// Fail closed: an interceptor that throws, or does not answer within its time, fails the call
// (JSON-RPC error), never lets it pass unchanged.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pc::mcp {

struct ServerEntry;

// Who calls which tool. Everything an interceptor may judge by; nothing from the client that the
// gateway did not verify.
struct CallContext {
  std::string request_id;
  std::string tenant;
  std::string tier;
  std::string subject;
  std::string client;
  std::vector<std::string> roles;
  std::vector<std::string> actors;  // act chain, current first
  std::string session_id;           // Mcp-Session-Id
  std::string server;               // the upstream server's name
  std::string tool;                 // the tool's name at the server
  std::string exposed_name;         // the name the client used (maybe prefixed)
  const ServerEntry* server_entry = nullptr;
  const boost::json::object* input_schema = nullptr;  // from the server's tools/list; null: none known
};

// What an interceptor decided.
struct Decision {
  enum Kind { allow, deny } kind = allow;
  int code = -32003;    // JSON-RPC error code when denied (SPEC §7: -32003 forbidden, -32602 invalid params, -32603 internal)
  std::string reason;   // shown to the client: short, never quotes a secret or PII
  static Decision allowed() { return {}; }
  static Decision denied(int code, std::string reason) { return {deny, code, std::move(reason)}; }
};

// Counts of what response interceptors changed, for the audit event and metrics (never values).
struct ResponseFacts {
  std::map<std::string, std::uint64_t> redactions;  // detector kind → count
  bool guardrail_hit = false;
};

using DecisionDone = std::function<void(Decision)>;

class RequestInterceptor {
 public:
  virtual ~RequestInterceptor() = default;
  virtual std::string_view name() const = 0;
  // May change `params` (the tools/call params: name, arguments, _meta). Answers through `done`
  // exactly once, now or later (on an I/O thread); a throw is a denial with -32603.
  virtual void on_request(const CallContext& ctx, boost::json::object& params, DecisionDone done) const = 0;
};

class ResponseInterceptor {
 public:
  virtual ~ResponseInterceptor() = default;
  virtual std::string_view name() const = 0;
  // May change `result` (the JSON-RPC result object, or the error object when is_error). The same
  // contract as RequestInterceptor.
  virtual void on_response(const CallContext& ctx, boost::json::value& result, bool is_error, ResponseFacts& facts,
                           DecisionDone done) const = 0;
};

}  // namespace pc::mcp
