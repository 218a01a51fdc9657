#include "mcp/tool_calls.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "audit/audit_log.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/aead.h"
#include "crypto/associated_data.h"
#include "crypto/random.h"
#include "store/store.h"
#include "vault/data_keys.h"

namespace pc::mcp {
namespace {

namespace json = boost::json;

const store::BatchMetrics& metrics() {
  static const store::BatchMetrics m{
      &core::metrics().counter("portcullis_mcp_tool_call_records_total", "MCP tool call records written to the store").get(),
      nullptr,
      &core::metrics()
           .counter("portcullis_mcp_tool_call_records_dropped_total",
                    "MCP tool call records not written (queue full by count or bytes, stopped, or a failed batch)")
           .get(),
      &core::metrics()
           .counter("portcullis_mcp_tool_call_records_dropped_total",
                    "MCP tool call records not written (queue full by count or bytes, stopped, or a failed batch)")
           .get(),
      &core::metrics()
           .counter("portcullis_mcp_tool_call_records_parked_total",
                    "MCP tool call records the database refused on their own; the rest of their batch was written.")
           .get(),
      &core::metrics().gauge("portcullis_mcp_tool_call_queue_depth", "MCP tool call records waiting to be written.").get(),
      &core::metrics()
           .gauge("portcullis_mcp_tool_call_queue_bytes", "Bytes of MCP tool call records waiting to be written.")
           .get(),
  };
  return m;
}

std::string content_aad(const std::string& tenant, const std::string& id) {
  return crypto::row_aad(tenant, "mcp_tool_calls", id, "content");
}

std::string redactions_json(const std::map<std::string, std::uint64_t>& r) {
  json::object o;
  for (const auto& [k, n] : r) o[k] = n;
  return json::serialize(o);
}

}  // namespace

std::string new_tool_call_id() {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "mcp_%012llx", static_cast<unsigned long long>(ms));
  return prefix + crypto::random_hex(8);
}

std::string seal_tool_call_content(vault::DataKeys& keys, const ToolCall& call) {
  const auto n = static_cast<std::uint32_t>(call.arguments.size());
  std::string framed;
  framed.reserve(4 + call.arguments.size() + call.result.size());
  for (int shift = 24; shift >= 0; shift -= 8) framed.push_back(static_cast<char>((n >> shift) & 0xff));
  framed += call.arguments;
  framed += call.result;
  return keys.seal(call.tenant_id, vault::kInvocationClass, content_aad(call.tenant_id, call.call_id), framed);
}

std::pair<std::string, std::string> open_tool_call_content(vault::DataKeys& keys, const std::string& tenant_id,
                                                           const std::string& call_id, const std::string& sealed) {
  std::string plain = keys.open(tenant_id, vault::kInvocationClass, content_aad(tenant_id, call_id), sealed);
  if (plain.size() < 4) throw crypto::AeadError("tool call content: truncated frame");
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(plain[static_cast<std::size_t>(i)]);
  if (n > plain.size() - 4) throw crypto::AeadError("tool call content: bad frame length");
  return {plain.substr(4, n), plain.substr(4 + n)};
}

ToolCallLog::ToolCallLog(store::Store& store, vault::DataKeys& keys, audit::AuditLog* audit)
    : ToolCallLog(store, keys, audit, Options{}) {}

ToolCallLog::ToolCallLog(store::Store& store, vault::DataKeys& keys, audit::AuditLog* audit, Options options)
    : store_(store),
      keys_(keys),
      audit_(audit),
      writer_(store::BatchWriter<ToolCall>::Options{"mcp_tool_call", options.max_batch, options.max_queue,
                                                    options.max_queue_bytes, options.linger, {}},
              store::BatchWriter<ToolCall>::Hooks{
                  [](const ToolCall& c) {
                    return sizeof(ToolCall) + c.call_id.size() + c.tenant_id.size() + c.session_id.size() +
                           c.principal.size() + c.client.size() + c.request_id.size() + c.server.size() +
                           c.tool.size() + c.exposed_name.size() + c.outcome.size() + c.created_at.size() +
                           c.arguments.size() + c.result.size();
                  },
                  [this](std::vector<ToolCall>& batch) { write(batch); },
                  {},
                  {},
                  [](const ToolCall& c) { return "mcp tool call " + c.call_id; },
              },
              metrics()) {}

ToolCallLog::~ToolCallLog() { stop(); }

bool ToolCallLog::record(ToolCall call) {
  if (audit_) {
    // The audit event names the call, never its arguments or result; redactions are counts.
    json::object d;
    d["callId"] = call.call_id;
    d["server"] = call.server;
    d["serverScope"] = call.server_tenant.empty() ? "global" : "tenant";
    d["tool"] = call.tool;
    d["exposedName"] = call.exposed_name;
    d["sessionId"] = call.session_id;
    d["latencyMs"] = call.latency_ms;
    if (call.error_code != 0) d["errorCode"] = call.error_code;
    json::object red;
    for (const auto& [k, n] : call.redactions) red[k] = n;
    d["redactions"] = std::move(red);
    d["guardrailHit"] = call.guardrail_hit;
    audit::Event e;
    e.tenant_id = call.tenant_id;
    e.actor = call.principal.empty() ? "unknown" : call.principal;
    e.action = "mcp.tools/call";
    e.resource = "mcp-server/" + call.server + "/tool/" + call.tool;
    e.outcome = call.outcome == "succeeded" || call.outcome == "tool_error" || call.outcome == "replayed"
                    ? "success"
                    : (call.outcome == "denied" ? "denied" : "failure");
    e.request_id = call.request_id;
    e.details = json::serialize(d);
    if (!audit_->record(std::move(e)))
      log::warn("mcp tool call audit event refused (audit queue full)", {{"call_id", call.call_id}});
  }
  return writer_.push(std::move(call));
}

void ToolCallLog::flush() { writer_.flush(); }

void ToolCallLog::stop() { writer_.stop(); }

void ToolCallLog::write(std::vector<ToolCall>& batch) {
  std::vector<store::McpToolCallRecord> rows;
  rows.reserve(batch.size());
  for (const auto& c : batch) {
    store::McpToolCallRecord r;
    try {
      r.content_sealed = seal_tool_call_content(keys_, c);
    } catch (const std::exception& e) {
      // Metadata without content rather than no record at all; never plaintext.
      log::error("mcp tool call content could not be sealed; stored without it",
                 {{"call_id", c.call_id}, {"error", e.what()}});
    }
    r.call_id = c.call_id;
    r.tenant_id = c.tenant_id;
    r.session_id = c.session_id;
    r.principal = c.principal;
    r.client_id = c.client;
    r.request_id = c.request_id;
    r.server = c.server;
    r.server_tenant = c.server_tenant;
    r.tool = c.tool;
    r.exposed_name = c.exposed_name;
    r.outcome = c.outcome;
    r.error_code = c.error_code;
    r.latency_ms = c.latency_ms;
    r.redactions = redactions_json(c.redactions);
    r.guardrail_hit = c.guardrail_hit;
    r.created_at = c.created_at;
    rows.push_back(std::move(r));
  }
  store_.insert_mcp_tool_calls(rows);  // throws: the writer retries the records one by one
}

}  // namespace pc::mcp
