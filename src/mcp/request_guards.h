// The built-in REQUEST interceptors of tools/call (SPEC §7): the policy rules and the argument
// validation against the tool's inputSchema. Both answer at once, on the calling thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "mcp/interceptor.h"
#include "mcp/json_schema.h"

namespace pc::mcp {

// mcp.policies (policy_allows) on ctx.tenant, ctx.roles, ctx.server, ctx.tool. The federation
// filters tools/list with the same function, so a refusal here is answered like a tool that does
// not exist: -32602 "Unknown tool: <name the client used>".
class PolicyInterceptor final : public RequestInterceptor {
 public:
  explicit PolicyInterceptor(std::vector<core::McpPolicyRule> rules);
  std::string_view name() const override { return "policy"; }
  void on_request(const CallContext& ctx, boost::json::object& params, DecisionDone done) const override;

 private:
  std::vector<core::McpPolicyRule> rules_;
};

// params.arguments against *ctx.input_schema (none known: allowed; the federation only calls
// tools it listed). Arguments absent are checked as {}; not an object: -32602. Invalid arguments:
// -32602 "Invalid arguments: /path: reason; …". An invalid schema: -32603 (never waved through).
// Compiled schemas are cached per (server tenant, server, tool), reused while the tool's schema
// is unchanged (compared by value), at most `cache_entries` of them.
class SchemaInterceptor final : public RequestInterceptor {
 public:
  explicit SchemaInterceptor(SchemaLimits limits = {}, std::size_t cache_entries = 4096);
  std::string_view name() const override { return "schema"; }
  void on_request(const CallContext& ctx, boost::json::object& params, DecisionDone done) const override;

  // The compiled form of `schema` for this tool, from the cache or compiled now. Throws SchemaError.
  std::shared_ptr<const CompiledSchema> compiled(const CallContext& ctx, const boost::json::object& schema) const;

 private:
  struct Entry {
    boost::json::object schema;
    std::shared_ptr<const CompiledSchema> compiled;  // null: invalid
    std::string error;
  };
  SchemaLimits limits_;
  std::size_t cache_entries_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<const Entry>> cache_;
};

}  // namespace pc::mcp
