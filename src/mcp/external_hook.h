// External interceptors (SPEC §7, `mcp.hooks`): an operator's HTTP service judges each tools/call
// at one stage. The gateway POSTs
//   {"stage":"request","tenant","subject","client","server","tool","arguments"}      (request)
//   {"stage":"response","tenant","subject","client","server","tool","result","isError"} (response)
// and expects 2xx with {"decision":"allow"|"deny","reason"?: string, "arguments"?: object |
// "result"?: object}: allow (a modified value replaces the original), or deny with a reason shown
// to the client (-32003, cut to 200 bytes). Anything else — another status, another body, a
// timeout, a network error — fails the call closed (-32603); the detail goes to the log only.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "mcp/interceptor.h"

namespace pc::net {
struct UpstreamReply;
}

namespace pc::mcp {

// What a hook answered, read from its reply.
struct HookAnswer {
  enum Kind { allow, deny, failed } kind = failed;
  std::string reason;                       // deny: the hook's reason ("" when none)
  std::optional<boost::json::object> replacement;  // allow: the modified arguments or result
  std::string error;                        // failed: why (for the log; never shown to clients)
};

// The JSON a hook receives. `payload`: the arguments (request stage) or the result (response).
std::string hook_request_body(std::string_view stage, const CallContext& ctx, const boost::json::value& payload,
                              bool is_error = false);
// Reads a hook's reply for `stage` ("request" reads "arguments", "response" reads "result").
HookAnswer read_hook_answer(const net::UpstreamReply& reply, std::string_view stage);

class ExternalHook final : public RequestInterceptor, public ResponseInterceptor {
 public:
  // Throws std::invalid_argument when hook.url is not http(s)://host[:port][/path] (no userinfo).
  explicit ExternalHook(core::McpHook hook);

  std::string_view name() const override { return hook_.name; }
  const core::McpHook& config() const { return hook_; }
  // The hook's own timeout (give the chain step a little more, so the hook's reason is the one
  // reported): hook.timeout_ms.
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(hook_.timeout_ms); }
  // Whether it judges this call: its stage, and ctx.tenant / ctx.server in its lists (empty = all).
  bool applies(std::string_view stage, const CallContext& ctx) const;

  // A call it does not apply to is allowed at once. Otherwise the answer comes on an I/O thread.
  void on_request(const CallContext& ctx, boost::json::object& params, DecisionDone done) const override;
  void on_response(const CallContext& ctx, boost::json::value& result, bool is_error, ResponseFacts& facts,
                   DecisionDone done) const override;

 private:
  void call(std::string body, std::string_view stage, std::function<void(HookAnswer&&)> then) const;

  core::McpHook hook_;
  std::string scheme_, host_, target_;
  std::uint16_t port_ = 0;
};

// The configured hooks (mcp.hooks) of one stage ("request" or "response"), in configuration
// order, for the end of that stage's chain:
//   for (auto& h : make_hooks(cfg.mcp.hooks, "request")) chain.add(h, h->timeout() + 250ms);
// Throws std::invalid_argument on a hook whose url is unusable.
std::vector<std::shared_ptr<const ExternalHook>> make_hooks(const std::vector<core::McpHook>& hooks,
                                                            std::string_view stage);

}  // namespace pc::mcp
