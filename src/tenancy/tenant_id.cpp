#include "tenancy/tenant_id.h"

namespace pc::tenancy {
namespace {
bool lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

bool is_valid_tenant_id(std::string_view id) {
  // 3 to 32 characters: a letter, 1-30 of [a-z0-9-], then a letter or digit.
  if (id.size() < 3 || id.size() > 32) return false;
  if (id.front() < 'a' || id.front() > 'z') return false;
  if (!lower_or_digit(id.back())) return false;
  for (char c : id.substr(1, id.size() - 2))
    if (!lower_or_digit(c) && c != '-') return false;
  return true;
}

bool is_reserved_tenant_id(std::string_view id) {
  for (auto r : {"platform", "admin", "root", "system", "stub"})
    if (id == r) return true;
  return false;
}

}  // namespace pc::tenancy
