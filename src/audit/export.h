// The audit log as NDJSON (application/x-ndjson, SPEC §5 audit-export): one entry per line,
// in seq order, with its chain hashes, so a tenant or an auditor can keep a copy and check it.
//
//   {"seq":1,"time":"…","tenantId":"…","actor":"…","action":"…","resource":"…","outcome":"…",
//    "requestId":"…","details":{…},"prevHash":"…","hash":"…"}
//
// `details` is written as the stored text itself when that is a one-line JSON object, so its
// bytes (which the hash covers) survive the export; otherwise (a stored value that is not an
// object, or spans lines) as a JSON string of the stored text.
// A tenant's export has gaps in seq (other tenants' entries) and its prevHash values point at
// entries it does not contain: it proves each exported entry is the one the chain holds
// (compare with `portcullis audit verify` or the platform's full export), not completeness.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "store/store.h"

namespace pc::audit {

// One line, '\n' included.
std::string to_json_line(const store::AuditRecord& r);

// Writes one line per entry of `tenant_id` (every tenant when empty) in seq order, paging
// through the store, so memory stays flat. `sink` is called once per line; an exception from
// it (a client gone) stops the export and propagates, as do StoreErrors.
void export_ndjson(store::Store& store, const std::string& tenant_id,
                   const std::function<void(std::string_view)>& sink);

}  // namespace pc::audit
