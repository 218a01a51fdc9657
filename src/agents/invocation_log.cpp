#include "agents/invocation_log.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "core/log.h"
#include "core/metrics.h"
#include "crypto/aead.h"
#include "crypto/associated_data.h"
#include "crypto/random.h"
#include "store/store.h"
#include "vault/data_keys.h"

namespace pc::agents {
namespace {

const store::BatchMetrics& metrics() {
  static const store::BatchMetrics m{
      &core::metrics().counter("portcullis_invocation_records_total", "Invocation records written to the store").get(),
      nullptr,
      // Given up and refused alike count as dropped: either way the record is not stored.
      &core::metrics()
           .counter("portcullis_invocation_records_dropped_total",
                    "Invocation records not written (queue full by count or bytes, stopped, or a failed batch)")
           .get(),
      &core::metrics()
           .counter("portcullis_invocation_records_dropped_total",
                    "Invocation records not written (queue full by count or bytes, stopped, or a failed batch)")
           .get(),
      &core::metrics()
           .counter("portcullis_invocation_records_parked_total",
                    "Invocation records the database refused on their own; the rest of their batch was written.")
           .get(),
      &core::metrics().gauge("portcullis_invocation_queue_depth", "Invocation records waiting to be written.").get(),
      &core::metrics()
           .gauge("portcullis_invocation_queue_bytes", "Bytes of invocation records waiting to be written.")
           .get(),
  };
  return m;
}

}  // namespace

namespace {

// Associated data of the two content formats (see the header).
std::string content_aad(const std::string& tenant, const std::string& id) {
  return crypto::row_aad(tenant, "invocations", id, "content");
}
std::string legacy_content_aad(const std::string& tenant, const std::string& id) {
  return crypto::row_aad(tenant, "invocations", id, "content_sealed");
}

std::string frame_content(const std::string& input, const std::string& output) {
  const auto n = static_cast<std::uint32_t>(input.size());
  std::string out;
  out.reserve(4 + input.size() + output.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out += input;
  out += output;
  return out;
}

std::string status_of(const Invocation& inv) {
  if (!inv.status.empty()) return inv.status;
  if (inv.http_status >= 200 && inv.http_status < 300) return "succeeded";
  if (inv.http_status == 499) return "cancelled";
  return "failed";
}

}  // namespace

InvocationContent open_invocation_content(vault::DataKeys& keys, const store::InvocationRecord& r) {
  if (!r.content_sealed) throw std::invalid_argument("invocation " + r.invocation_id + " has no content");
  std::string plain;
  try {
    plain = keys.open(r.tenant_id, vault::kInvocationClass, content_aad(r.tenant_id, r.invocation_id), *r.content_sealed);
  } catch (const crypto::AeadError&) {
    // A record from before issue 9: the input alone. Anything else fails here too.
    return {keys.open(r.tenant_id, vault::kInvocationClass, legacy_content_aad(r.tenant_id, r.invocation_id),
                      *r.content_sealed),
            ""};
  }
  if (plain.size() < 4) throw crypto::AeadError("invocation content: truncated frame");
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(plain[static_cast<std::size_t>(i)]);
  if (n > plain.size() - 4) throw crypto::AeadError("invocation content: bad frame length");
  return {plain.substr(4, n), plain.substr(4 + n)};
}

std::string new_invocation_id() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "inv_%012llx", static_cast<unsigned long long>(ms));
  return prefix + crypto::random_hex(8);
}

InvocationLog::InvocationLog(store::Store& store, vault::DataKeys& keys) : InvocationLog(store, keys, Options{}) {}

InvocationLog::InvocationLog(store::Store& store, vault::DataKeys& keys, Options options)
    : store_(store),
      keys_(keys),
      writer_(
          store::BatchWriter<Invocation>::Options{
              "invocation", options.max_batch, options.max_queue, options.max_queue_bytes, options.linger, {}},
          store::BatchWriter<Invocation>::Hooks{
              [](const Invocation& inv) {
                return sizeof(Invocation) + inv.invocation_id.size() + inv.tenant_id.size() + inv.agent.size() +
                       inv.agent_version.size() + inv.session_id.size() + inv.principal.size() +
                       inv.created_at.size() + inv.input.size() + inv.output.size() + inv.mode.size() +
                       inv.status.size() + inv.error.size();
              },
              [this](std::vector<Invocation>& batch) { write(batch); },
              {},
              {},
              [](const Invocation& inv) { return "invocation " + inv.invocation_id; },
          },
          metrics()) {}

InvocationLog::~InvocationLog() { stop(); }

bool InvocationLog::record(Invocation inv) { return writer_.push(std::move(inv)); }

void InvocationLog::flush() { writer_.flush(); }

void InvocationLog::stop() { writer_.stop(); }

void InvocationLog::write(std::vector<Invocation>& batch) {
  // The items stay as they are (copied, not moved, into rows): if the batch fails, the writer
  // writes them again one by one.
  std::vector<store::InvocationRecord> rows;
  rows.reserve(batch.size());
  for (const auto& inv : batch) {
    store::InvocationRecord r;
    try {
      // Bound to tenant, table, row and column: a sealed input copied to another row or tenant
      // does not open.
      r.content_sealed = keys_.seal(inv.tenant_id, vault::kInvocationClass, content_aad(inv.tenant_id, inv.invocation_id),
                                    frame_content(inv.input, inv.output));
    } catch (const std::exception& e) {
      // Metadata without content rather than no record at all; never plaintext.
      log::error("invocation content could not be sealed; stored without it",
                 {{"invocation_id", inv.invocation_id}, {"error", e.what()}});
    }
    r.invocation_id = inv.invocation_id;
    r.tenant_id = inv.tenant_id;
    r.agent = inv.agent;
    r.agent_version = inv.agent_version;
    r.session_id = inv.session_id;
    r.principal = inv.principal;
    r.http_status = inv.http_status;
    r.mode = inv.mode.empty() ? "sync" : inv.mode;
    r.status = status_of(inv);
    r.error = inv.error;
    r.input_tokens = inv.input_tokens;
    r.output_tokens = inv.output_tokens;
    r.latency_ms = inv.latency_ms;
    r.created_at = inv.created_at;
    rows.push_back(std::move(r));
  }
  store_.insert_invocations(rows);  // throws: the writer retries the records one by one
}

}  // namespace pc::agents
