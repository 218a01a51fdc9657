// The audit log's hash chain: each entry's hash covers its own fields and its predecessor's
// hash, so changing, removing or reordering any stored entry breaks every link after it.
// Pure functions, no I/O; the store calls link() inside its append transaction (a
// store::Store::AuditLinker), verify.h recomputes link_hash() to check a stored log.
//
// The hashed bytes (version 1) are a fixed tag followed by ten netstrings (djb's
// "<decimal length>:<bytes>,"), in this order:
//
//   "portcullis-audit-v1\n"
//   prev_hash, seq (decimal, no sign or padding), time, tenant_id, actor, action, resource,
//   outcome, request_id, details
//
// Length prefixes make the encoding unambiguous: ("ab","c") and ("a","bc") hash differently,
// and so does any byte (a ':' or ',' included) moved across a field boundary. The hash is the
// lowercase hex SHA-256 of those bytes (64 characters). The first entry's prev_hash is "".
// Anyone can recompute it from an export (see export.h) with a few lines in any language.
#pragma once

#include <string>
#include <string_view>

#include "store/records.h"

namespace pc::audit {

// The version-1 encoding above of `r` (its prev_hash and hash fields are ignored; `prev_hash`
// is used instead). Exposed for tests and for tools that check a log independently.
std::string link_encoding(const store::AuditRecord& r, std::string_view prev_hash);

// Lowercase hex SHA-256 of link_encoding(r, prev_hash).
std::string link_hash(const store::AuditRecord& r, std::string_view prev_hash);

// Sets r.prev_hash = prev_hash and r.hash = link_hash(r, prev_hash). Usable as a
// store::Store::AuditLinker.
void link(store::AuditRecord& r, const std::string& prev_hash);

}  // namespace pc::audit
