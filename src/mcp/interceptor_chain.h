// Runs the request or the response interceptors of one tools/call in order (SPEC §7), each
// answering through its DecisionDone now or later on any thread, and stops at the first denial.
// Fails closed: an interceptor that throws is a denial (-32603 "interceptor <name> failed"); one
// that has not answered within its timeout is a denial (-32603 "interceptor <name> timed out");
// an answer after that, or a second answer, is ignored (and logged).
//
// A chain is itself an interceptor (the same contract), so the federation runs it like one:
//   auto chain = std::make_shared<mcp::RequestChain>(std::chrono::milliseconds(5000));
//   chain->add(std::make_shared<mcp::PolicyInterceptor>(cfg.mcp.policies));
//   chain->add(std::make_shared<mcp::SchemaInterceptor>());
//   chain->add(hook, std::chrono::milliseconds(hook->timeout_ms() + 500));
//   chain->on_request(ctx, params, [](mcp::Decision d) { ... });   // params changed in place
//
// While a run is under way the chain holds `params` (or `result` and `facts`): the caller's
// object is emptied at the start and filled again just before `done` runs, so an interceptor
// answering late never touches the caller's memory. After a timeout it stays empty (the call
// failed). `ctx` is copied; the pointers inside it (server_entry, input_schema) must stay valid
// until `done` has run. `done` runs exactly once: on the thread of the interceptor's last answer,
// on the calling thread when all answer at once, or on the chain's timer thread after a timeout.
// Building (add) is not thread-safe; running a built chain is, from any number of threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/interceptor.h"

namespace pc::mcp {

class RequestChain final : public RequestInterceptor {
 public:
  explicit RequestChain(std::chrono::milliseconds default_timeout = std::chrono::milliseconds(5000));
  // timeout 0: the chain's default. Returns *this for chaining.
  RequestChain& add(std::shared_ptr<const RequestInterceptor> interceptor,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  std::size_t size() const { return steps_.size(); }

  std::string_view name() const override { return "request-chain"; }
  void on_request(const CallContext& ctx, boost::json::object& params, DecisionDone done) const override;

 private:
  struct Step {
    std::shared_ptr<const RequestInterceptor> interceptor;
    std::chrono::milliseconds timeout;
  };
  std::chrono::milliseconds default_timeout_;
  std::vector<Step> steps_;
};

class ResponseChain final : public ResponseInterceptor {
 public:
  explicit ResponseChain(std::chrono::milliseconds default_timeout = std::chrono::milliseconds(5000));
  ResponseChain& add(std::shared_ptr<const ResponseInterceptor> interceptor,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  std::size_t size() const { return steps_.size(); }

  std::string_view name() const override { return "response-chain"; }
  // `facts` is filled (what the interceptors counted) before `done` runs, except after a timeout.
  void on_response(const CallContext& ctx, boost::json::value& result, bool is_error, ResponseFacts& facts,
                   DecisionDone done) const override;

 private:
  struct Step {
    std::shared_ptr<const ResponseInterceptor> interceptor;
    std::chrono::milliseconds timeout;
  };
  std::chrono::milliseconds default_timeout_;
  std::vector<Step> steps_;
};

}  // namespace pc::mcp
