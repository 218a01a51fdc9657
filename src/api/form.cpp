#include "api/form.h"

namespace pc::api {
namespace {
int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool form_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;  // needs two hex digits
      const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out += c;
  }
  return true;
}

std::optional<FormFields> parse_form(std::string_view body, std::size_t max_fields) {
  FormFields fields;
  std::size_t i = 0;
  while (i <= body.size()) {
    std::size_t j = body.find('&', i);
    if (j == std::string_view::npos) j = body.size();
    std::string_view pair = body.substr(i, j - i);
    if (!pair.empty()) {
      if (fields.size() == max_fields) return std::nullopt;
      std::size_t eq = pair.find('=');
      std::string name, value;
      if (!form_decode(pair.substr(0, eq), name)) return std::nullopt;
      if (eq != std::string_view::npos && !form_decode(pair.substr(eq + 1), value)) return std::nullopt;
      fields.emplace_back(std::move(name), std::move(value));
    }
    i = j + 1;
  }
  return fields;
}

}  // namespace pc::api
