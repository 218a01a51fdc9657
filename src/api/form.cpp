#include "api/form.h"

#include "core/percent.h"

namespace pc::api {
bool form_decode(std::string_view in, std::string& out) { return core::percent_decode(in, out, true); }

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
