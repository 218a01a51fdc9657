// SqlStore: data keys and secrets.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {

std::vector<DataKeyRecord> SqlStore::data_keys(std::string_view, std::string_view) {
  throw StoreError("not built yet");
}

bool SqlStore::insert_data_key(const DataKeyRecord&) {
  throw StoreError("not built yet");
}

std::vector<DataKeyRecord> SqlStore::all_data_keys() {
  throw StoreError("not built yet");
}

void SqlStore::rewrap(const std::vector<DataKeyRecord>&, const std::vector<SigningKeyRecord>&) {
  throw StoreError("not built yet");
}

void SqlStore::insert_secret(const SecretRecord&) {
  throw StoreError("not built yet");
}

std::optional<SecretRecord> SqlStore::find_secret(std::string_view, std::string_view, int) {
  throw StoreError("not built yet");
}

std::vector<SecretRecord> SqlStore::list_secrets(std::string_view) {
  throw StoreError("not built yet");
}

bool SqlStore::delete_secret(std::string_view, std::string_view) {
  throw StoreError("not built yet");
}

}  // namespace pc::store
