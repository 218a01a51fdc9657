#include "mcp/request_guards.h"

#include "core/log.h"
#include "mcp/jsonrpc.h"
#include "mcp/policy.h"
#include "mcp/server.h"

namespace pc::mcp {

namespace json = boost::json;

namespace {

// A client-chosen name, cut for an error message (at a code point boundary).
std::string shown(std::string_view s) {
  if (s.size() <= 128) return std::string(s);
  std::size_t n = 128;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "…";
}

}  // namespace

PolicyInterceptor::PolicyInterceptor(std::vector<core::McpPolicyRule> rules) : rules_(std::move(rules)) {}

void PolicyInterceptor::on_request(const CallContext& ctx, json::object&, DecisionDone done) const {
  if (policy_allows(rules_, ctx.tenant, ctx.roles, ctx.server, ctx.tool)) return done(Decision::allowed());
  done(Decision::denied(jsonrpc::kInvalidParams,
                        "Unknown tool: " + shown(ctx.exposed_name.empty() ? ctx.tool : ctx.exposed_name)));
}

SchemaInterceptor::SchemaInterceptor(SchemaLimits limits, std::size_t cache_entries)
    : limits_(limits), cache_entries_(cache_entries ? cache_entries : 1) {}

std::shared_ptr<const CompiledSchema> SchemaInterceptor::compiled(const CallContext& ctx,
                                                                  const json::object& schema) const {
  std::string key = ctx.server_entry ? ctx.server_entry->tenant : std::string();
  key += '\0';
  key += ctx.server;
  key += '\0';
  key += ctx.tool;
  std::shared_ptr<const Entry> hit;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) hit = it->second;
  }
  // Deep comparison outside the lock: cheaper than compiling, and a changed schema recompiles.
  if (!hit || hit->schema != schema) {
    auto e = std::make_shared<Entry>();
    e->schema = schema;
    try {
      e->compiled = CompiledSchema::compile(json::value(schema), limits_);
    } catch (const SchemaError& err) {
      e->error = err.what();
    }
    hit = e;
    std::lock_guard lock(mu_);
    if (cache_.size() >= cache_entries_ && !cache_.contains(key)) cache_.clear();  // crude, bounded
    cache_[key] = hit;
  }
  if (!hit->compiled) throw SchemaError(hit->error);
  return hit->compiled;
}

void SchemaInterceptor::on_request(const CallContext& ctx, json::object& params, DecisionDone done) const {
  if (!ctx.input_schema) return done(Decision::allowed());
  std::shared_ptr<const CompiledSchema> schema;
  try {
    schema = compiled(ctx, *ctx.input_schema);
  } catch (const SchemaError& e) {
    log::warn("mcp tool has an invalid inputSchema; call refused",
              {{"server", ctx.server}, {"tool", ctx.tool}, {"error", e.what()}});
    return done(Decision::denied(jsonrpc::kInternalError, "tool " + shown(ctx.exposed_name.empty() ? ctx.tool : ctx.exposed_name) +
                                                              " has an invalid inputSchema"));
  }
  static const json::value empty = json::object();
  const json::value* args = params.if_contains("arguments");
  if (args && !args->is_object()) return done(Decision::denied(jsonrpc::kInvalidParams, "Invalid arguments: /: expected object"));
  const auto r = schema->validate(args ? *args : empty);
  if (r.valid) return done(Decision::allowed());
  std::string reason = "Invalid arguments: ";
  for (std::size_t i = 0; i < r.errors.size(); ++i) {
    if (i) reason += "; ";
    reason += r.errors[i];
  }
  done(Decision::denied(jsonrpc::kInvalidParams, std::move(reason)));
}

}  // namespace pc::mcp
