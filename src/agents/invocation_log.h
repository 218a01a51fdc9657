// The invocation log: one record per agent invocation (SPEC §6) — metadata (who, which agent
// and version, status, latency) kept like audit, content (the input) sealed under the tenant's
// "invocation" data key with the row's identity as associated data, and purged by retention
// after invocation_content_days.
//
// Invocations are the data plane's hot path, so records are queued and written in batches by
// one background thread (store::BatchWriter, the audit log's writer too: bounded by count and
// bytes, a bad record parked alone). Unlike audit events they are not waited for: a full queue
// drops the record (counted in portcullis_invocation_records_dropped_total) rather than slow or
// refuse the call, because the audit trail already holds the call itself.
//
// Content (issue 9): input and output sealed together as one value, `u32 big-endian input length
// || input || output`, with associated data naming the column "content" — distinct from the
// input-only values of earlier records ("content_sealed"), so neither format can be read as the
// other.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/batch_writer.h"

namespace pc::store {
class Store;
struct InvocationRecord;
}
namespace pc::vault {
class DataKeys;
}

namespace pc::agents {

struct Invocation {
  std::string invocation_id;  // from new_invocation_id()
  std::string tenant_id;      // of the verified principal
  std::string agent;
  std::string agent_version;
  std::string session_id;
  std::string principal;
  std::string mode = "sync";  // sync | stream | async
  // succeeded | failed | cancelled; empty: derived from http_status (2xx succeeded, 499
  // cancelled, anything else failed).
  std::string status;
  std::string error;  // the error code when not succeeded (upstream_timeout, agent_error, ...)
  int http_status = 0;
  std::int64_t latency_ms = 0;
  std::string created_at;  // RFC 3339, when the call arrived
  std::string input;       // the request body; sealed (with output) before it is stored
  std::string output;      // what the agent answered (buffered body or stream capture)
  // Token counts as the runtime reported them; nullopt when it did not (stored NULL, never 0).
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int64_t> output_tokens;
};

// An invocation's content once opened. Records written before issue 9 hold only the input.
struct InvocationContent {
  std::string input;
  std::string output;
};

// Opens `record.content_sealed` (which must be set) with the tenant's invocation key; throws
// crypto::AeadError when it does not open (another row, tenant, or a purged key).
InvocationContent open_invocation_content(vault::DataKeys& keys, const store::InvocationRecord& record);

// "inv_" + 12 hex digits of milliseconds since the epoch + 16 random hex digits: unique, and
// sorted by time so that the id is also the listing cursor.
std::string new_invocation_id();

class InvocationLog {
 public:
  struct Options {
    std::size_t max_batch = 1024;
    std::size_t max_queue = 1 << 16;
    // Bytes waiting at most: an invocation carries its request body (up to max_body_bytes), so a
    // count alone would let 65,536 one-MiB bodies wait in memory.
    std::size_t max_queue_bytes = 64 << 20;
    std::chrono::milliseconds linger{20};  // how long a batch may gather before it is written
  };
  InvocationLog(store::Store& store, vault::DataKeys& keys);
  InvocationLog(store::Store& store, vault::DataKeys& keys, Options options);
  ~InvocationLog();  // stop()
  InvocationLog(const InvocationLog&) = delete;
  InvocationLog& operator=(const InvocationLog&) = delete;

  // Queues the record; false (and counted as dropped) when the queue is full (count or bytes)
  // or the log stopped.
  bool record(Invocation inv);
  // Blocks until everything queued so far is written (or failed).
  void flush();
  // Writes what is queued, then joins the writer. Idempotent.
  void stop();

 private:
  void write(std::vector<Invocation>& batch);

  store::Store& store_;
  vault::DataKeys& keys_;
  store::BatchWriter<Invocation> writer_;  // last: its thread uses the members above
};

}  // namespace pc::agents
