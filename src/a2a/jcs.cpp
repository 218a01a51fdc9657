#include "a2a/jcs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "core/json_text.h"

namespace pc::a2a {
namespace {

// UTF-16 code units of a UTF-8 name, for the member order (RFC 8785 §3.2.3).
std::u16string utf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = core::utf8_len(s, i);
    if (n == 0) throw JcsError("a member name is not valid UTF-8");
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    char32_t cp = 0;
    if (n == 1) cp = b(0);
    else if (n == 2) cp = ((b(0) & 0x1f) << 6) | (b(1) & 0x3f);
    else if (n == 3) cp = ((b(0) & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
    else cp = ((b(0) & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += n;
  }
  return out;
}

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = core::utf8_len(s, i);
      if (n == 0) throw JcsError("a string is not valid UTF-8");
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

void append(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: out += jcs_number(static_cast<double>(v.get_int64())); break;
    case boost::json::kind::uint64: out += jcs_number(static_cast<double>(v.get_uint64())); break;
    case boost::json::kind::double_: out += jcs_number(v.get_double()); break;
    case boost::json::kind::string: append_string(out, v.get_string()); break;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append(out, e);
      }
      out.push_back(']');
      break;
    }
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      std::vector<std::pair<std::u16string, const boost::json::key_value_pair*>> members;
      members.reserve(o.size());
      for (const auto& kv : o) members.emplace_back(utf16(kv.key()), &kv);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out.push_back('{');
      bool first = true;
      for (const auto& [_, kv] : members) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, kv->key());
        out.push_back(':');
        append(out, kv->value());
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

std::string jcs_number(double d) {
  if (!std::isfinite(d)) throw JcsError("a number is not finite");
  if (d == 0) return "0";  // and -0
  // Shortest digits that round-trip (what ECMAScript's algorithm picks too), in scientific form:
  // "d[.ddd]e±x". Then laid out by ECMAScript Number::toString's rules (ECMA-262 §6.1.6.1.20).
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const auto e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits.push_back(c);
  const int exp10 = std::stoi(std::string(sci.substr(e + 1)));
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // the decimal point sits after n digits
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n));
    out.push_back('.');
    out += digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out += digits.substr(1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string jcs(const boost::json::value& v) {
  std::string out;
  append(out, v);
  return out;
}

}  // namespace pc::a2a
