// The canonical text of an audit field: what is hashed is exactly what every backend stores and
// exports. Request paths and other caller-chosen strings may hold bytes that are not UTF-8 (or a
// NUL): PostgreSQL refuses them (a whole batch INSERT failed with them), SQLite stores them but
// exports them altered (JSON replaces them), so the exported row no longer matched its hash.
//
// Each byte that does not belong to a well-formed UTF-8 sequence, and each NUL, becomes "%XX"
// (upper-case hex), as in a URL; everything else is unchanged, so text that was valid stays as it
// was (and a percent-encoded path keeps meaning the same bytes).
#pragma once

#include <string>
#include <string_view>

#include "store/records.h"

namespace pc::audit {

std::string canonical_text(std::string_view text);
// True when canonical_text(text) == text (valid UTF-8 without NUL).
bool is_canonical(std::string_view text);

// Every text field of `r` made canonical in place (before it is linked and stored).
void canonicalize(store::AuditRecord& r);

}  // namespace pc::audit
