// SqlStore: invocations and sessions.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {

void SqlStore::insert_invocation(const InvocationRecord&) {
  throw StoreError("not built yet");
}

std::optional<InvocationRecord> SqlStore::find_invocation(std::string_view) {
  throw StoreError("not built yet");
}

std::vector<InvocationRecord> SqlStore::list_invocations(const InvocationQuery&) {
  throw StoreError("not built yet");
}

std::int64_t SqlStore::purge_invocation_content_before(std::string_view) {
  throw StoreError("not built yet");
}

std::vector<TenantUsage> SqlStore::usage_since(std::string_view, std::string_view, std::size_t) {
  throw StoreError("not built yet");
}

void SqlStore::insert_session(const SessionRecord&) {
  throw StoreError("not built yet");
}

std::optional<SessionRecord> SqlStore::find_session(std::string_view) {
  throw StoreError("not built yet");
}

bool SqlStore::end_session(std::string_view) {
  throw StoreError("not built yet");
}

std::int64_t SqlStore::purge_sessions_before(std::string_view) {
  throw StoreError("not built yet");
}

}  // namespace pc::store
