// Every tools/call through the federation, audited and recorded (SPEC §6, §7; issue 10): one
// audit event (server, tool, outcome, latency, redaction counts — never arguments or results)
// and one row in `mcp_tool_calls` (tenant-owned, like invocations: metadata in the clear,
// arguments and result sealed together under the tenant's "invocation" data key with the row's
// identity as associated data). Rows are written behind in batches by one background thread
// (store::BatchWriter); a full queue drops the row (counted), never slows or refuses the call:
// the audit event already holds the call itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/batch_writer.h"

namespace pc::store {
class Store;
struct McpToolCallRecord;
}
namespace pc::vault {
class DataKeys;
}
namespace pc::audit {
class AuditLog;
}

namespace pc::mcp {

struct ToolCall {
  std::string call_id;  // new_tool_call_id()
  std::string tenant_id;
  std::string session_id;  // Mcp-Session-Id
  std::string principal;   // subject
  std::string client;
  std::string request_id;  // the gateway's X-Request-Id
  std::string server;       // the server's name
  std::string server_tenant;  // "" for a global server
  std::string tool;           // the tool's name at the server
  std::string exposed_name;   // the name the client called
  // succeeded | tool_error (the tool answered isError) | denied (an interceptor refused) |
  // failed (upstream or interceptor failure) | replayed (an idempotent retry answered from store)
  std::string outcome;
  int error_code = 0;  // the JSON-RPC error code answered, 0 when none
  std::int64_t latency_ms = 0;
  std::map<std::string, std::uint64_t> redactions;  // kind → count
  bool guardrail_hit = false;
  std::string created_at;  // RFC 3339
  std::string arguments;   // JSON text: sealed before it is stored
  std::string result;      // JSON text (result or error object as answered): sealed
};

// "mcp_" + 12 hex digits of milliseconds since the epoch + 16 random hex digits (sorted by time).
std::string new_tool_call_id();

// Seals arguments and result as one value: u32 big-endian length of the arguments || arguments
// || result, associated data naming the row (tenant, "mcp_tool_calls", call id, "content").
std::string seal_tool_call_content(vault::DataKeys& keys, const ToolCall& call);
// Opens it again (for tests and for tenant exports); throws crypto::AeadError.
std::pair<std::string, std::string> open_tool_call_content(vault::DataKeys& keys, const std::string& tenant_id,
                                                           const std::string& call_id, const std::string& sealed);

class ToolCallLog {
 public:
  struct Options {
    std::size_t max_batch = 1024;
    std::size_t max_queue = 1 << 16;
    std::size_t max_queue_bytes = 64 << 20;
    std::chrono::milliseconds linger{20};
  };
  // `audit` may be null (no audit events: tests of the records alone).
  ToolCallLog(store::Store& store, vault::DataKeys& keys, audit::AuditLog* audit);
  ToolCallLog(store::Store& store, vault::DataKeys& keys, audit::AuditLog* audit, Options options);
  ~ToolCallLog();
  ToolCallLog(const ToolCallLog&) = delete;
  ToolCallLog& operator=(const ToolCallLog&) = delete;

  // Audits the call and queues its row; false when the row was dropped (queue full, stopped).
  bool record(ToolCall call);
  void flush();
  void stop();

 private:
  void write(std::vector<ToolCall>& batch);

  store::Store& store_;
  vault::DataKeys& keys_;
  audit::AuditLog* audit_;
  store::BatchWriter<ToolCall> writer_;
};

}  // namespace pc::mcp
