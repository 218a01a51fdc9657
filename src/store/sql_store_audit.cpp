// SqlStore: the audit log.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {

void SqlStore::append_audit(std::vector<AuditRecord>&, const AuditLinker&) {
  throw StoreError("not built yet");
}

std::vector<AuditRecord> SqlStore::query_audit(const AuditQuery&) {
  throw StoreError("not built yet");
}

std::int64_t SqlStore::purge_audit_before(std::string_view) {
  throw StoreError("not built yet");
}

std::optional<AuditAnchor> SqlStore::audit_anchor() {
  throw StoreError("not built yet");
}

}  // namespace pc::store
