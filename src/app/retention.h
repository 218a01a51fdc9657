// The retention job (SPEC §3 `retention`, §6): on a schedule, clears invocation content older
// than invocation_content_days (metadata stays), removes sessions idle longer than
// sessions_hours, removes audit entries older than audit_years (the chain keeps an anchor so
// `audit verify` still passes), and purges tenants deleted more than tenant_purge_days ago.
// Every run is itself audited (action `retention.run`, one `tenant.purge` per purged tenant).
// Idempotent, so every gateway on a shared store may run it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace pc::store {
class Store;
}
namespace pc::audit {
class AuditLog;
}

namespace pc::app {

struct RetentionRun {
  std::int64_t invocation_contents = 0;  // contents cleared
  std::int64_t sessions = 0;             // sessions removed
  std::int64_t audit_events = 0;         // audit entries removed
  std::vector<std::string> tenants_purged;
};

// One run as of `now` (unix seconds). Blocking. Throws on store errors (after auditing the
// failure when it can).
RetentionRun run_retention(store::Store& store, audit::AuditLog& audit, const core::RetentionConfig& cfg, std::int64_t now);

}  // namespace pc::app
