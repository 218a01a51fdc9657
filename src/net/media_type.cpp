#include "net/media_type.h"

namespace pc::net {

bool has_media_type(const Request& req, std::string_view type) {
  const std::string* ct = req.header("content-type");
  if (!ct) return false;
  std::string_view v = std::string_view(*ct).substr(0, ct->find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  return iequals(v, type);
}

}  // namespace pc::net
