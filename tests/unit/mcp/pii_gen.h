// Random, valid-by-construction samples of every built-in redaction kind (and near misses), for
// the redactor's property tests, its benchmark and its fuzz seeds. Values that look like real
// credentials are assembled at run time so that no secret-shaped literal sits in the repository.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/base64url.h"

namespace pc::mcp::testing {

class PiiGen {
 public:
  explicit PiiGen(std::uint64_t seed) : rng_(seed) {}

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::mt19937_64& rng() { return rng_; }

  std::string chars(const std::string& alphabet, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(alphabet[std::size_t(uniform(0, int(alphabet.size()) - 1))]);
    return s;
  }
  std::string digits(int n) { return chars("0123456789", n); }
  std::string lower(int n) { return chars("abcdefghijklmnopqrstuvwxyz", n); }
  std::string alnum(int n) { return chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n); }

  static int luhn_sum(const std::string& digits, bool double_last) {
    int sum = 0;
    bool dbl = double_last;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
      int d = *it - '0';
      if (dbl) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
      dbl = !dbl;
    }
    return sum;
  }
  static bool luhn_ok(const std::string& digits) { return luhn_sum(digits, false) % 10 == 0; }

  // A Luhn-valid card number of `len` digits starting with `prefix`.
  std::string card_digits(const std::string& prefix, int len) {
    std::string body = prefix + digits(len - 1 - int(prefix.size()));
    const int check = (10 - luhn_sum(body, true) % 10) % 10;
    return body + char('0' + check);
  }
  static std::string group(const std::string& d, const std::vector<int>& sizes, char sep) {
    std::string out;
    std::size_t pos = 0;
    for (int s : sizes) {
      if (!out.empty()) out.push_back(sep);
      out += d.substr(pos, std::size_t(s));
      pos += std::size_t(s);
    }
    return out;
  }
  std::string credit_card() {
    switch (uniform(0, 3)) {
      case 0: return group(card_digits("4", 16), {4, 4, 4, 4}, ' ');
      case 1: return group(card_digits("5" + std::to_string(uniform(1, 5)), 16), {4, 4, 4, 4}, '-');
      case 2: return group(card_digits(uniform(0, 1) ? "34" : "37", 15), {4, 6, 5}, ' ');
      default: return card_digits("6011", 16);
    }
  }
  // 13–19 digits, first digit 2–6, failing Luhn.
  std::string luhn_failing_digits(int len) {
    std::string d = card_digits(std::to_string(uniform(2, 6)), len);
    d.back() = char('0' + (d.back() - '0' + uniform(1, 9)) % 10);
    return d;
  }

  static int mod97(const std::string& s) {
    int r = 0;
    for (char c : s) {
      if (c >= '0' && c <= '9') r = (r * 10 + (c - '0')) % 97;
      else r = (r * 100 + (c - 'A' + 10)) % 97;
    }
    return r;
  }
  // A valid IBAN (GB: 4 letters + 14 digits; DE: 18 digits), grouped by 4 or not.
  std::string iban_compact(bool valid = true) {
    const bool gb = uniform(0, 1);
    const std::string country = gb ? "GB" : "DE";
    const std::string bban = gb ? chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4) + digits(14) : digits(18);
    int check = 98 - mod97(bban + country + "00");
    if (!valid) {  // any other check in 2..98 fails mod 97 (only 98-r leaves remainder 1)
      int other;
      do other = uniform(2, 98);
      while (other == check);
      check = other;
    }
    const std::string cd = (check < 10 ? "0" : "") + std::to_string(check);
    return country + cd + bban;
  }
  std::string iban(bool valid = true) {
    std::string c = iban_compact(valid);
    if (uniform(0, 1)) return c;
    std::string out;
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (i && i % 4 == 0) out.push_back(' ');
      out.push_back(c[i]);
    }
    return out;
  }

  std::string email() {
    std::string local = lower(uniform(1, 8));
    if (uniform(0, 1)) local += "." + lower(uniform(1, 6));
    if (uniform(0, 3) == 0) local += "+" + lower(3);
    return local + "@" + lower(uniform(2, 10)) + (uniform(0, 1) ? "." + lower(uniform(2, 6)) : "") + "." +
           lower(uniform(2, 4));
  }
  std::string phone() {
    switch (uniform(0, 3)) {
      case 0: return "+" + std::to_string(uniform(1, 99)) + " " + digits(2) + " " + digits(4) + " " + digits(4);
      case 1: return "(" + std::to_string(uniform(2, 9)) + digits(2) + ") " + digits(3) + "-" + digits(4);
      case 2: return std::to_string(uniform(2, 9)) + digits(2) + "-" + digits(3) + "-" + digits(4);
      default: return "0" + digits(2) + " " + digits(4) + " " + digits(4);
    }
  }
  std::string us_ssn() {
    int area;
    do area = uniform(1, 899);
    while (area == 666);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03d-%02d-%04d", area, uniform(1, 99), uniform(1, 9999));
    return buf;
  }
  std::string uk_nino() {
    const std::string first = "ABCEGHJKLMNPRSTWXYZ", second = "ABCEGHJKLMNPRSTWXYZ";
    std::string p;
    do p = chars(first, 1) + chars(second, 1);
    while (p == "BG" || p == "GB" || p == "KN" || p == "NK" || p == "NT" || p == "TN" || p == "ZZ");
    const std::string d = digits(6);
    if (uniform(0, 1)) return p + " " + d.substr(0, 2) + " " + d.substr(2, 2) + " " + d.substr(4, 2) + " " + chars("ABCD", 1);
    return p + d + chars("ABCD", 1);
  }
  std::string ipv4() {
    return std::to_string(uniform(1, 255)) + "." + std::to_string(uniform(0, 255)) + "." +
           std::to_string(uniform(0, 255)) + "." + std::to_string(uniform(1, 254));
  }
  std::string ipv6() {
    std::string s = "2001:db8";
    for (int i = 0; i < 6; ++i) s += ":" + chars("0123456789abcdef", uniform(1, 4));
    return s;
  }
  std::string ip_address() { return uniform(0, 1) ? ipv4() : ipv6(); }
  std::string aws_key() {
    if (uniform(0, 2) == 0)
      return std::string("aws_secret_access_key = ") + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", 40);
    return std::string(uniform(0, 1) ? "AK" "IA" : "AS" "IA") + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
  }
  std::string aws_secret_only(const std::string& v) { return v.rfind("aws_", 0) == 0 ? v.substr(v.size() - 40) : v; }
  std::string jwt() {
    const std::string header = core::base64url_encode(R"({"alg":"ES256","typ":"JWT","kid":"k)" + digits(3) + "\"}");
    const std::string payload = core::base64url_encode(R"({"sub":")" + lower(8) + R"(","exp":)" + digits(10) + "}");
    return header + "." + payload + "." + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 86);
  }
  std::string private_key() {
    std::string s = "-----BEGIN " + std::string(uniform(0, 1) ? "RSA " : "") + "PRIVATE KEY-----\n";
    for (int i = 0; i < uniform(2, 5); ++i)
      s += chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 64) + "\n";
    return s + (s.find("RSA") != std::string::npos ? "-----END RSA PRIVATE KEY-----" : "-----END PRIVATE KEY-----");
  }
  std::string api_key() {
    switch (uniform(0, 3)) {
      case 0: return std::string("gh") + "p_" + alnum(36);
      case 1: return std::string("xo") + "xb-" + digits(12) + "-" + digits(12) + "-" + alnum(24);
      case 2: return std::string("sk") + "_live_" + alnum(24);
      default: return std::string("AI") + "za" + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 35);
    }
  }

  std::string of_kind(const std::string& kind) {
    if (kind == "email") return email();
    if (kind == "phone") return phone();
    if (kind == "credit_card") return credit_card();
    if (kind == "iban") return iban();
    if (kind == "us_ssn") return us_ssn();
    if (kind == "uk_nino") return uk_nino();
    if (kind == "ip_address") return ip_address();
    if (kind == "aws_key") return aws_key();
    if (kind == "jwt") return jwt();
    if (kind == "private_key") return private_key();
    if (kind == "api_key") return api_key();
    return {};
  }

  // Clean prose: lower-case words, punctuation, short numbers always followed by a word (so
  // numbers never run together into something number-shaped).
  std::string clean_words(int n) {
    static const char* punct[] = {",", ".", ";", ":", "!", "?", " -", " (x)", "\n"};
    std::string s;
    for (int i = 0; i < n; ++i) {
      if (!s.empty()) s.push_back(' ');
      if (uniform(0, 9) == 0) s += std::to_string(uniform(0, 999)) + " " + lower(uniform(1, 8));
      else s += lower(uniform(1, 10));
      if (uniform(0, 6) == 0) s += punct[uniform(0, 8)];
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace pc::mcp::testing
