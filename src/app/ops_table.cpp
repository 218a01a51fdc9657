#include "app/ops_table.h"

#include <boost/json.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pc::app::ops {
namespace {

namespace json = boost::json;

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

void append_hex_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

std::string number_text(double d) {
  if (!std::isfinite(d)) return "-";
  // Whole numbers (a rate limit of 10.0) print as integers; others with 6 significant digits.
  if (d == std::trunc(d) && std::fabs(d) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", d);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", d);
  return buf;
}

bool is_scalar(const json::value& v) { return !v.is_object() && !v.is_array(); }

std::string raw_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "-";
    case json::kind::bool_: return v.get_bool() ? "yes" : "no";
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::double_: return number_text(v.get_double());
    case json::kind::string: {
      const auto& s = v.get_string();
      return s.empty() ? "-" : std::string(s.data(), s.size());
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) return "-";
      if (std::all_of(a.begin(), a.end(), is_scalar)) {
        std::string out;
        for (const auto& x : a) {
          if (!out.empty()) out += ',';
          out += raw_text(x);
        }
        return out;
      }
      return json::serialize(v);
    }
    case json::kind::object: return json::serialize(v);
  }
  return "-";
}

void pad_to(std::string& out, std::size_t have, std::size_t want) {
  if (want > have) out.append(want - have, ' ');
}

}  // namespace

const json::value* lookup(const json::value& root, std::string_view dotted) {
  const json::value* cur = &root;
  while (true) {
    const auto dot = dotted.find('.');
    const std::string_view key = dotted.substr(0, dot);
    const auto* obj = cur->if_object();
    if (!obj) return nullptr;
    cur = obj->if_contains(key);
    if (!cur) return nullptr;
    if (dot == std::string_view::npos) return cur;
    dotted.remove_prefix(dot + 1);
  }
}

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      append_hex_escape(out, c);
      ++i;
      continue;
    }
    // C1 controls (U+0080–U+009F, encoded C2 80–C2 9F) act as escape introducers on some
    // terminals: escaped like C0.
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      append_hex_escape(out, c);
      append_hex_escape(out, static_cast<unsigned char>(text[i + 1]));
      i += 2;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::size_t display_width(std::string_view utf8) {
  std::size_t w = 0;
  for (unsigned char c : utf8)
    if ((c & 0xC0) != 0x80) ++w;  // count lead bytes, not continuation bytes
  return w;
}

std::string cell_text(const json::value* v) { return v ? sanitize(raw_text(*v)) : "-"; }

std::string render_table(const json::array& rows, const std::vector<Column>& columns) {
  if (rows.empty()) return "(none)\n";
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size() + 1);
  std::vector<std::string> header;
  for (const auto& c : columns) header.push_back(sanitize(c.header));
  cells.push_back(std::move(header));
  for (const auto& row : rows) {
    std::vector<std::string> line;
    for (const auto& c : columns) {
      const json::value* found = nullptr;
      for (const auto& p : c.paths) {
        found = lookup(row, p);
        if (found && !found->is_null()) break;
      }
      line.push_back(cell_text(found));
    }
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> width(columns.size(), 0);
  for (const auto& line : cells)
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], display_width(line[i]));
  std::string out;
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) {
        pad_to(out, display_width(line[i]), width[i]);
        out += "  ";
      }
    }
    out += '\n';
  }
  return out;
}

std::string render_record(const json::object& obj, const std::vector<std::string>& skip) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const auto& kv : obj) {
    const std::string key(kv.key());
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    lines.emplace_back(sanitize(key) + ":", cell_text(&kv.value()));
  }
  if (lines.empty()) return "(none)\n";
  std::size_t w = 0;
  for (const auto& [k, _] : lines) w = std::max(w, display_width(k));
  std::string out;
  for (const auto& [k, v] : lines) {
    out += k;
    pad_to(out, display_width(k), w);
    out += "  ";
    out += v;
    out += '\n';
  }
  return out;
}

}  // namespace pc::app::ops
