#include "crypto/associated_data.h"

namespace pc::crypto {

void append_length_prefixed(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ',';
}

std::string row_aad(std::string_view tenant_id, std::string_view table, std::string_view row_id,
                    std::string_view column) {
  std::string out = "row:";
  append_length_prefixed(out, tenant_id);
  append_length_prefixed(out, table);
  append_length_prefixed(out, row_id);
  append_length_prefixed(out, column);
  return out;
}

std::string data_key_aad(std::string_view tenant_id, std::string_view data_class, int version) {
  std::string out = "data-key:";
  append_length_prefixed(out, tenant_id);
  append_length_prefixed(out, data_class);
  append_length_prefixed(out, std::to_string(version));
  return out;
}

std::string signing_key_aad(std::string_view kid) { return "signing-key:" + std::string(kid); }

}  // namespace pc::crypto
