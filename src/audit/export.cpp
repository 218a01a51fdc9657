#include "audit/export.h"

#include <boost/json/parse.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>

#include "core/json_text.h"

namespace pc::audit {
namespace {

constexpr std::size_t kPage = 1000;

// The stored text, verbatim, when it is an object on one line (NDJSON forbids raw line breaks,
// and JSON allows them only as whitespace, so "one line" is a byte check).
void append_details(std::string& out, const std::string& details) {
  if (details.find_first_of("\r\n") == std::string::npos) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(details, ec);
    if (!ec && v.is_object()) {
      out += details;
      return;
    }
  }
  core::append_json_string(out, details);
}

void field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  core::append_json_string(out, value);
}

}  // namespace

std::string to_json_line(const store::AuditRecord& r) {
  std::string out;
  out.reserve(256 + r.resource.size() + r.details.size());
  out += "{\"seq\":";
  out += std::to_string(r.seq);
  field(out, "time", r.time);
  field(out, "tenantId", r.tenant_id);
  field(out, "actor", r.actor);
  field(out, "action", r.action);
  field(out, "resource", r.resource);
  field(out, "outcome", r.outcome);
  field(out, "requestId", r.request_id);
  out += ",\"details\":";
  append_details(out, r.details);
  field(out, "prevHash", r.prev_hash);
  field(out, "hash", r.hash);
  out += "}\n";
  return out;
}

void export_ndjson(store::Store& store, const std::string& tenant_id,
                   const std::function<void(std::string_view)>& sink) {
  store::AuditQuery q;
  q.tenant_id = tenant_id;
  q.limit = kPage;
  for (;;) {
    std::vector<store::AuditRecord> page = store.query_audit(q);
    if (page.empty()) return;
    for (const store::AuditRecord& r : page) sink(to_json_line(r));
    q.after_seq = page.back().seq;
  }
}

}  // namespace pc::audit
