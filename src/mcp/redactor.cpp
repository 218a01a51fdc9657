#include "mcp/redactor.h"

#include <arpa/inet.h>
#include <hs/hs.h>
#include <emmintrin.h>
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "core/base64url.h"
#include "net/hyperscan_db.h"

namespace pc::mcp {
namespace {

// ---- character classes (ASCII: the detectors look for ASCII-shaped values)
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_token_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }  // base64url and key alphabets

char at(std::string_view t, std::size_t i) { return i < t.size() ? t[i] : '\0'; }
char before(std::string_view t, std::size_t i) { return i > 0 ? t[i - 1] : '\0'; }

// A validator sees one Hyperscan match [begin, end) (begin is 0 for patterns compiled without
// start-of-match) and may move either edge; false drops the match.
using Validator = bool (*)(std::string_view text, std::size_t& begin, std::size_t& end);

// ---- validators
//
// Most patterns are compiled without start-of-match (Hyperscan's SOM tracking costs 10–100x on
// class-led patterns), so Hyperscan reports only where a match ENDS, at every possible end. Each
// validator first checks the end is a real token end (cheap, rejects most reports), then walks
// back to find where the value begins, then validates it.

// Luhn over the digits of [b, e).
bool luhn_ok(std::string_view t, std::size_t b, std::size_t e) {
  int sum = 0;
  bool dbl = false;
  for (std::size_t i = e; i-- > b;) {
    if (!is_digit(t[i])) continue;
    int d = t[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

// Group starts of the run of digit groups ending at e (groups separated by one space or dash),
// nearest first, up to `max_digits` digits back. Calls `try_start(start, digits)` at each; stops
// when it returns true.
template <class F>
bool for_each_group_start(std::string_view t, std::size_t e, int max_digits, F try_start) {
  int digits = 0;
  std::size_t i = e;
  while (i > 0 && is_digit(t[i - 1]) && digits < max_digits) {
    --i;
    ++digits;
    const char p = before(t, i);
    if (is_digit(p)) continue;
    if (try_start(i, digits)) return true;
    if ((p == ' ' || p == '-') && is_digit(before(t, i - 1))) {  // one separator between groups
      --i;
      continue;
    }
    return false;
  }
  return false;
}

// Payment cards: 13–19 digits, in groups separated by single spaces or dashes, first digit 2–6
// (the issuer ranges of the card networks), Luhn-valid. The start may be any group start within
// 19 digits before the end, so "qty 12 4111 1111 1111 1111" still finds the card. A run failing
// Luhn at every group alignment is left alone.
bool credit_card(std::string_view t, std::size_t& b, std::size_t& e) {
  if (e == 0 || is_alnum(at(t, e)) || !is_digit(t[e - 1])) return false;
  return for_each_group_start(t, e, 19, [&](std::size_t s, int digits) {
    if (digits >= 13 && !is_alnum(before(t, s)) && t[s] >= '2' && t[s] <= '6' && luhn_ok(t, s, e)) {
      b = s;
      return true;
    }
    return false;
  });
}

// IBAN lengths per country (ISO 13616 registry); countries not listed take 15–34.
int iban_length(char a, char b) {
  static const std::array<unsigned char, 26 * 26> lengths = [] {
    std::array<unsigned char, 26 * 26> l{};
    const std::pair<const char*, int> known[] = {
        {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
        {"BH", 22}, {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18},
        {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
        {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
        {"IL", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21},
        {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27},
        {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
        {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
        {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20}};
    for (const auto& [cc, n] : known) l[std::size_t((cc[0] - 'A') * 26 + (cc[1] - 'A'))] = (unsigned char)n;
    return l;
  }();
  return lengths[std::size_t((a - 'A') * 26 + (b - 'A'))];
}

// mod 97 of the IBAN [b, e) (spaces skipped) rearranged: BBAN first, then country and check.
bool iban_valid(std::string_view t, std::size_t b, std::size_t e) {
  char s[34];
  std::size_t n = 0;
  for (std::size_t i = b; i < e; ++i) {
    if (t[i] == ' ') continue;
    if (n == sizeof s) return false;
    s[n++] = t[i];
  }
  if (n < 15) return false;
  const int want = iban_length(s[0], s[1]);
  if (want != 0 && int(n) != want) return false;
  unsigned r = 0;
  auto feed = [&r](char c) { r = is_digit(c) ? (r * 10 + unsigned(c - '0')) % 97 : (r * 100 + unsigned(c - 'A') + 10) % 97; };
  for (std::size_t i = 4; i < n; ++i) feed(s[i]);
  for (std::size_t i = 0; i < 4; ++i) feed(s[i]);
  return r == 1;
}

bool iban(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(at(t, e))) return false;
  // Walk back over upper-case letters, digits and single spaces; each group start that reads
  // CCdd (country, check digits) is a candidate.
  std::size_t i = e;
  while (i > 0 && e - i < 42) {
    const char c = t[i - 1];
    if (is_digit(c) || is_upper(c)) {
      --i;
      if (i + 4 <= e && !is_alnum(before(t, i)) && is_upper(t[i]) && is_upper(t[i + 1]) && is_digit(t[i + 2]) &&
          is_digit(t[i + 3]) && iban_valid(t, i, e)) {
        b = i;
        return true;
      }
    } else if (c == ' ' && i >= 2 && is_alnum(t[i - 2]) && i < e) {
      --i;
    } else {
      break;
    }
  }
  return false;
}

int number(std::string_view t, std::size_t b, std::size_t n) {
  int v = 0;
  for (std::size_t i = b; i < b + n; ++i) v = v * 10 + (t[i] - '0');
  return v;
}

// US SSN AAA-GG-SSSS (or with spaces): area not 000, 666 or 9xx; group not 00; serial not 0000.
bool us_ssn(std::string_view t, std::size_t& b, std::size_t& e) {
  if (e < 11 || is_alnum(at(t, e))) return false;
  b = e - 11;
  if (is_alnum(before(t, b))) return false;
  const char s = t[b + 3];
  if ((s != '-' && s != ' ') || t[b + 6] != s) return false;
  for (std::size_t i : {0, 1, 2, 4, 5, 7, 8, 9, 10})
    if (!is_digit(t[b + i])) return false;
  // Part of a longer dashed number (e.g. 1-123-45-6789-0)?
  if ((before(t, b) == s && is_digit(before(t, b - 1))) || (at(t, e) == s && is_digit(at(t, e + 1)))) return false;
  const int area = number(t, b, 3), group = number(t, b + 4, 2), serial = number(t, b + 7, 4);
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

// UK National Insurance number: two prefix letters (D, F, I, Q, U, V never; O not second; BG,
// GB, KN, NK, NT, TN, ZZ not allocated), six digits in pairs (optionally spaced), suffix A–D.
bool uk_nino(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(at(t, e))) return false;
  auto first = [](char c) { return is_upper(c) && c != 'D' && c != 'F' && c != 'I' && c != 'Q' && c != 'U' && c != 'V'; };
  auto second = [&](char c) { return first(c) && c != 'O'; };
  for (std::size_t len = 13; len >= 9; --len) {  // longest first: spaces included
    if (e < len) continue;
    const std::size_t s = e - len;
    if (is_alnum(before(t, s))) continue;
    std::size_t i = s;
    if (!first(t[i]) || !second(t[i + 1])) continue;
    i += 2;
    bool ok = true;
    for (int pair = 0; pair < 3 && ok; ++pair) {
      if (t[i] == ' ') ++i;
      ok = i + 2 <= e && is_digit(t[i]) && is_digit(t[i + 1]);
      i += 2;
    }
    if (!ok) continue;
    if (i < e && t[i] == ' ') ++i;
    if (i + 1 != e || t[i] < 'A' || t[i] > 'D') continue;
    const std::string_view p = t.substr(s, 2);
    for (const char* bad : {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
      if (p == bad) return false;
    b = s;
    return true;
  }
  return false;
}

bool is_email_local(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }

bool email(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(at(t, e)) || at(t, e) == '-') return false;
  std::size_t i = e;
  while (i > 0 && e - i < 255 && t[i - 1] != '@') {
    const char c = t[i - 1];
    if (!is_alnum(c) && c != '.' && c != '-') return false;
    --i;
  }
  if (i == 0 || t[i - 1] != '@') return false;
  const std::size_t at_sign = i - 1;
  std::size_t s = at_sign;
  while (s > 0 && at_sign - s < 64 && is_email_local(t[s - 1])) --s;
  while (s < at_sign && t[s] == '.') ++s;  // a local part does not start with a dot
  if (s == at_sign) return false;
  b = s;
  return true;
}

bool ipv4(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(at(t, e)) || (at(t, e) == '.' && is_digit(at(t, e + 1)))) return false;
  std::size_t s = e;
  while (s > 0 && e - s < 16 && (is_digit(t[s - 1]) || t[s - 1] == '.')) --s;
  // Not a piece of a longer dotted run (an OID, a version like 1.2.3.4.5).
  if (is_alnum(before(t, s)) || s == e || !is_digit(t[s])) return false;
  std::size_t i = s;
  for (int part = 0; part < 4; ++part) {
    const std::size_t p = i;
    while (i < e && is_digit(t[i])) ++i;
    const std::size_t n = i - p;
    if (n == 0 || n > 3 || (n > 1 && t[p] == '0') || number(t, p, n) > 255) return false;
    if (part < 3) {
      if (i >= e || t[i] != '.') return false;
      ++i;
    }
  }
  if (i != e) return false;
  b = s;
  return true;
}

bool ipv6(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(at(t, e)) || at(t, e) == ':') return false;
  std::size_t s = e;
  while (s > 0 && e - s <= 39 && (is_hex(t[s - 1]) || t[s - 1] == ':')) --s;
  if (e - s > 39 || is_alnum(before(t, s))) return false;
  char buf[40];
  std::memcpy(buf, t.data() + s, e - s);
  buf[e - s] = '\0';
  in6_addr addr;
  if (inet_pton(AF_INET6, buf, &addr) != 1) return false;
  // At least two groups written out, one of them three or more digits long: ::1, a:b:: and
  // times like 12:30:: are not worth a redaction.
  int groups = 0;
  bool long_group = false;
  std::size_t run = 0;
  for (std::size_t i = s; i <= e; ++i) {
    if (i < e && t[i] != ':') {
      ++run;
      continue;
    }
    if (run > 0) ++groups;
    if (run >= 3) long_group = true;
    run = 0;
  }
  if (groups < 2 || !long_group) return false;
  b = s;
  return true;
}

bool aws_access_key(std::string_view t, std::size_t& b, std::size_t& e) {
  return !is_alnum(before(t, b)) && !is_alnum(at(t, e));
}

// A secret access key is 40 base64 characters; alone it is indistinguishable from other 40-char
// strings, so it is recognised after a label (aws_secret_access_key = …, "SecretAccessKey": "…").
// Only the key is redacted, not the label.
bool aws_secret_key(std::string_view t, std::size_t& b, std::size_t& e) {
  const char n = at(t, e);
  if (is_alnum(n) || n == '/' || n == '+' || n == '=') return false;
  b = e - 40;
  return true;
}

// The match ends just after the second dot ("eyJ….….", reported once per token); the token runs
// on over the signature (and the two more segments of a JWE), and back to its "eyJ".
bool jwt(std::string_view t, std::size_t& b, std::size_t& e) {
  std::size_t s = e - 1;  // the second dot
  while (s > 0 && (is_token_char(t[s - 1]) || t[s - 1] == '.')) --s;
  if (t.substr(s, 3) != "eyJ") return false;
  // The reported dot must be the token's second (a match can also start at a payload's "eyJ").
  if (std::count(t.begin() + std::ptrdiff_t(s), t.begin() + std::ptrdiff_t(e - 1), '.') != 1) return false;
  int segments = 3;
  while (is_token_char(at(t, e))) ++e;
  while (at(t, e) == '.' && is_token_char(at(t, e + 1))) {
    ++segments;
    ++e;
    while (is_token_char(at(t, e))) ++e;
  }
  if (segments != 3 && segments != 5) return false;
  // The header is a JSON object: "eyJ" is base64url for '{"'; its last byte must be '}'.
  const std::string_view header = t.substr(s, t.find('.', s) - s);
  if (header.size() % 4 == 1) return false;
  const std::size_t tail = header.size() >= 8 ? (header.size() - 5) / 4 * 4 : 0;  // last whole quantum or two
  const auto last = core::base64url_decode(header.substr(tail));
  if (!last) return false;
  std::string_view h = *last;
  while (!h.empty() && (h.back() == ' ' || h.back() == '\n' || h.back() == '\r' || h.back() == '\t'))
    h.remove_suffix(1);
  if (h.empty() || h.back() != '}') return false;
  b = s;
  return true;
}

// The match is the BEGIN line; the block runs to the matching END line, or to the end of the
// text when it was cut off (a truncated key is still a secret).
bool private_key(std::string_view t, std::size_t&, std::size_t& e) {
  const auto end_marker = t.find("-----END ", e);
  if (end_marker == std::string_view::npos) {
    e = t.size();
    return true;
  }
  const auto close = t.find("-----", end_marker + 9);
  e = close == std::string_view::npos ? t.size() : close + 5;
  return true;
}

// Patterns match the prefix and the minimum length; the token runs on to the end of its alphabet.
bool api_token(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_token_char(before(t, b))) return false;
  while (is_token_char(at(t, e))) ++e;
  return true;
}

int count_digits(std::string_view t, std::size_t b, std::size_t e) {
  return int(std::count_if(t.begin() + std::ptrdiff_t(b), t.begin() + std::ptrdiff_t(e), is_digit));
}

// Not glued to a word, not a piece of a longer dashed or dotted number.
bool phone_boundaries(std::string_view t, std::size_t b, std::size_t e) {
  const char p = before(t, b), n = at(t, e);
  if (is_alnum(p) || is_alnum(n)) return false;
  if ((p == '-' || p == '.') && is_digit(before(t, b - 1))) return false;
  if ((n == '-' || n == '.') && is_digit(at(t, e + 1))) return false;
  return true;
}

bool is_phone_char(char c) { return is_digit(c) || c == ' ' || c == '.' || c == '-' || c == '(' || c == ')'; }

// +CC then 7–14 more digits in groups: back to the '+'.
bool phone_international(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(at(t, e)) || ((at(t, e) == '-' || at(t, e) == '.') && is_digit(at(t, e + 1)))) return false;
  std::size_t s = e;
  while (s > 0 && e - s < 32 && is_phone_char(t[s - 1])) --s;
  if (s == 0 || t[s - 1] != '+') return false;
  --s;
  if (!phone_boundaries(t, s, e) || before(t, s) == '+') return false;
  const int n = count_digits(t, s, e);
  if (n < 8 || n > 15) return false;
  b = s;
  return true;
}

// North American: (NXX) NXX-XXXX, NXX-NXX-XXXX, NXX.NXX.XXXX, optionally after 1 or +1.
bool phone_nanp(std::string_view t, std::size_t& b, std::size_t& e) {
  if (e < 12 || is_alnum(at(t, e))) return false;
  auto sep = [](char c) { return c == ' ' || c == '.' || c == '-'; };
  auto d = [&](std::size_t i, int n) {
    for (int k = 0; k < n; ++k)
      if (!is_digit(t[i + std::size_t(k)])) return false;
    return true;
  };
  const std::size_t tail = e - 8;  // "NXX-XXXX"
  if (!d(tail, 3) || !sep(t[tail + 3]) || !d(tail + 4, 4)) return false;
  std::size_t s;
  if (tail >= 4 && sep(t[tail - 1]) && d(tail - 4, 3)) {
    s = tail - 4;  // NXX-
  } else if (tail >= 5 && t[tail - 1] == ')' && d(tail - 4, 3) && t[tail - 5] == '(') {
    s = tail - 5;  // (NXX)
  } else if (tail >= 6 && sep(t[tail - 1]) && t[tail - 2] == ')' && d(tail - 5, 3) && t[tail - 6] == '(') {
    s = tail - 6;  // (NXX)-
  } else {
    return false;
  }
  const std::size_t area = t[s] == '(' ? s + 1 : s;
  if (t[area] < '2') return false;
  // A leading country code 1 or +1 belongs to the number.
  if (s >= 2 && sep(t[s - 1]) && t[s - 2] == '1' && !is_alnum(before(t, s - 2))) s -= 2;
  if (s >= 1 && t[s - 1] == '+') --s;
  if (!phone_boundaries(t, s, e)) return false;
  b = s;
  return true;
}

// National numbers with a trunk 0: 0AA(AA) NNN(N) NNNN, 10–11 digits (UK, DE, FR, ...).
bool phone_national(std::string_view t, std::size_t& b, std::size_t& e) {
  if (e == 0 || is_alnum(at(t, e)) || !is_digit(t[e - 1])) return false;
  return for_each_group_start(t, e, 11, [&](std::size_t s, int digits) {
    if (digits >= 10 && t[s] == '0' && phone_boundaries(t, s, e)) {
      b = s;
      return true;
    }
    return false;
  });
}

// ---- the built-in detectors

// Where a detector runs. Literal-led patterns run as ONE Hyperscan database over the whole text
// (Hyperscan skips ahead at many GB/s). Digit-led kinds do not: a digit-led pattern makes
// Hyperscan start a match attempt at every digit, and on text with numbers in it a database of
// them ran at 36 MB/s (dense PII) to ~700 MB/s (prose with numbers) on the reference machine. Those
// kinds are found by `scan_numeric` instead: an SSE2 pass finds the regions around digit
// clusters, and at each digit run's end the numeric validators below walk back over the value
// (they never need a pattern's start).
struct Pattern {
  const char* regex;
  unsigned flags;  // extra Hyperscan flags
  Validator validate;
};

// What the 48 bytes of digits, upper-case letters and separators before a candidate end hold:
// cheap gates that spare the validators most candidates.
struct Cluster {
  int digits = 0;
  bool upper = false, plus = false, dot = false;
};

struct Numeric {
  Validator validate;
  bool letter_end;  // the value may end in a letter (IBAN, NINO)
  int min_digits;   // digits the value has at least
  char needs;       // 'U' an upper-case letter, '+', '.', or 0
};

struct Builtin {
  const char* kind;
  std::vector<Pattern> patterns;
  std::vector<Numeric> numeric;
};

constexpr unsigned kSom = HS_FLAG_SOM_LEFTMOST;  // only on literal-led patterns, where it is cheap

// Priority order: when spans of two kinds overlap, the merged span takes the earlier kind.
const std::vector<Builtin>& builtins() {
  static const std::vector<Builtin> table = {
      {"private_key", {{R"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)", kSom, private_key}}, {}},
      {"jwt", {{R"(eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.)", 0, jwt}}, {}},
      {"aws_key",
       {{R"(\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA|ABIA|ACCA)[A-Z0-9]{16}\b)", kSom, aws_access_key},
        {R"((?i:aws_?secret_?(?:access_?)?key|secretaccesskey)["']?[ \t]{0,4}[:=][ \t]{0,4}["']?[A-Za-z0-9/+]{40})",
         0, aws_secret_key}},
       {}},
      {"api_key",
       {{R"(gh[pousr]_[A-Za-z0-9]{36})", kSom, api_token},              // GitHub tokens
        {R"(github_pat_[A-Za-z0-9_]{22})", kSom, api_token},            // GitHub fine-grained PAT
        {R"(glpat-[A-Za-z0-9_-]{20})", kSom, api_token},                // GitLab PAT
        {R"(xox[abposr]-[A-Za-z0-9-]{10})", kSom, api_token},           // Slack tokens
        {R"([rs]k_(?:live|test)_[A-Za-z0-9]{16})", kSom, api_token},    // Stripe secret/restricted keys
        {R"(AIza[0-9A-Za-z_-]{35})", kSom, api_token},                  // Google API keys
        {R"(sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20})", kSom, api_token},    // OpenAI / Anthropic keys
        {R"(npm_[A-Za-z0-9]{36})", kSom, api_token},                    // npm tokens
        {R"(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})", kSom, api_token}},  // SendGrid
       {}},
      {"iban", {}, {{iban, true, 6, 'U'}}},
      {"credit_card", {}, {{credit_card, false, 13, 0}}},
      {"us_ssn", {}, {{us_ssn, false, 9, 0}}},
      {"uk_nino", {}, {{uk_nino, true, 6, 'U'}}},
      {"email", {{R"([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b)", 0, email}}, {}},
      {"ip_address", {{R"((?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})", 0, ipv6}}, {{ipv4, false, 4, '.'}}},
      {"phone",
       {},
       {{phone_international, false, 8, '+'}, {phone_nanp, false, 10, 0}, {phone_national, false, 10, 0}}},
  };
  return table;
}

// ---- numeric regions
//
// Every numeric kind (cards, IBANs, SSNs, NINOs, phones, IPv4) has at least 4 digits within 16
// consecutive bytes. Regions are found 16 bytes at a time with SSE2 (digits per block); two
// adjacent blocks holding >= 4 digits together mark a region, padded on both sides by more than
// the longest numeric value (an IBAN with spaces: 42 bytes) so no value is ever cut by a region
// edge. Regions are merged; validators look at the whole text for boundaries.
constexpr std::size_t kRegionPad = 64;
constexpr int kRegionDigits = 4;

int digits_in_block(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i ge0 = _mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1));
  const __m128i le9 = _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1));
  // Sum of 0/1 bytes with SAD: SSE2 only (a popcount instruction is not in the x86-64 baseline).
  const __m128i ones = _mm_and_si128(_mm_and_si128(ge0, le9), _mm_set1_epi8(1));
  const __m128i sad = _mm_sad_epu8(ones, _mm_setzero_si128());
  return _mm_cvtsi128_si32(sad) + _mm_extract_epi16(sad, 4);
}

template <class F>
void numeric_regions(std::string_view t, F on_region) {
  const std::size_t n = t.size();
  std::size_t rb = 0, re = 0;
  bool open = false;
  auto mark = [&](std::size_t b, std::size_t e) {
    b = b > kRegionPad ? b - kRegionPad : 0;
    e = std::min(n, e + kRegionPad);
    if (open && b <= re) {
      re = std::max(re, e);
      return;
    }
    if (open) on_region(rb, re);
    rb = b;
    re = e;
    open = true;
  };
  int prev = 0;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int cur = digits_in_block(t.data() + i);
    if (cur + prev >= kRegionDigits) mark(i >= 16 ? i - 16 : 0, i + 16);
    prev = cur;
  }
  if (i < n) {
    char tail[16] = {};
    std::memcpy(tail, t.data() + i, n - i);
    if (digits_in_block(tail) + prev >= kRegionDigits) mark(i >= 16 ? i - 16 : 0, n);
  }
  if (open) on_region(rb, re);
}

// The next digit in [i, end), or end. 16 bytes at a time.
std::size_t next_digit(std::string_view t, std::size_t i, std::size_t end) {
  while (i + 16 <= t.size() && i < end) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data() + i));
    const __m128i ge0 = _mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1));
    const __m128i le9 = _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1));
    const unsigned m = unsigned(_mm_movemask_epi8(_mm_and_si128(ge0, le9)));
    if (m) return std::min(end, i + std::size_t(__builtin_ctz(m)));
    i += 16;
  }
  while (i < end && !is_digit(t[i])) ++i;
  return std::min(i, end);
}

bool is_cluster_char(char c) {
  return is_digit(c) || is_upper(c) || c == ' ' || c == '.' || c == '-' || c == '(' || c == ')' || c == '+';
}

}  // namespace

struct Redactor::Impl {
  struct Compiled {
    std::size_t kind;
    Validator validate;
  };
  struct NumericCheck {
    std::size_t kind;
    Numeric n;
  };
  net::hyperscan::Database db;
  net::hyperscan::Scratch scratch{"redaction"};
  std::vector<Compiled> patterns;  // by Hyperscan id
  std::vector<NumericCheck> numeric;
  bool letter_end = false;  // some numeric check takes values ending in a letter
  struct Custom {
    std::size_t kind;
    std::unique_ptr<RE2> re;
  };
  std::vector<Custom> custom;

  void check_numeric(std::string_view t, std::size_t e, const Cluster& cl, bool letter, std::vector<Span>& spans) const {
    if (cl.digits < 4) return;  // no numeric value has fewer
    for (const auto& c : numeric) {
      const Numeric& n = c.n;
      if ((letter && !n.letter_end) || cl.digits < n.min_digits) continue;
      if ((n.needs == 'U' && !cl.upper) || (n.needs == '+' && !cl.plus) || (n.needs == '.' && !cl.dot)) continue;
      std::size_t b = 0, end = e;
      if (n.validate(t, b, end) && b < end) spans.push_back({b, end, c.kind});
    }
  }

  static void count(Cluster& cl, char ch) {
    if (is_digit(ch)) ++cl.digits;
    else if (is_upper(ch)) cl.upper = true;
    else if (ch == '+') cl.plus = true;
    else if (ch == '.') cl.dot = true;
  }

  // The numeric kinds. Inside each digit region, each cluster (digits, upper-case letters,
  // separators) around a digit is walked once; at every token end in it (a digit run, or a letter
  // group for IBANs and NINOs, not followed by a letter or digit) the validators run, gated by
  // what the cluster holds so far (its digits, whether it has a letter, '+', '.'). The gates
  // are necessary conditions only; the validators decide.
  void scan_numeric(std::string_view t, std::vector<Span>& spans) const {
    const std::size_t n = t.size();
    numeric_regions(t, [&](std::size_t rb, std::size_t re) {
      std::size_t i = rb;
      while ((i = next_digit(t, i, re)) < re) {
        // A digit glued to lower case (base64, identifiers, hex): no numeric value begins or
        // ends inside such a token (the validators require a non-letter on both sides), so the
        // whole token is skipped.
        const char p = before(t, i);
        if ((p >= 'a' && p <= 'z') || p == '_') {
          while (i < n && (is_alnum(t[i]) || t[i] == '_')) ++i;
          continue;
        }
        Cluster cl;
        std::size_t s = i;
        while (s > 0 && i - s < 48 && is_cluster_char(t[s - 1])) count(cl, t[--s]);
        std::size_t j = i;
        while (j < n && is_cluster_char(t[j])) {
          const char c = t[j++];
          count(cl, c);
          const char next = at(t, j);
          if (is_alnum(next)) continue;
          if (is_digit(c)) check_numeric(t, j, cl, false, spans);
          else if (letter_end && is_upper(c)) check_numeric(t, j, cl, true, spans);
        }
        i = j;
      }
    });
  }
};

const std::vector<std::string>& Redactor::builtin_kinds() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> k;
    for (const auto& b : builtins()) k.emplace_back(b.kind);
    return k;
  }();
  return kinds;
}

Redactor::Redactor(const core::RedactionConfig& config) : impl_(std::make_unique<Impl>()) {
  for (const auto& name : config.builtin)
    if (std::find(builtin_kinds().begin(), builtin_kinds().end(), name) == builtin_kinds().end())
      throw std::invalid_argument("redaction: unknown built-in detector '" + name + "'");

  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (const auto& b : builtins()) {
    if (std::find(config.builtin.begin(), config.builtin.end(), b.kind) == config.builtin.end()) continue;
    const std::size_t kind = kinds_.size();
    kinds_.emplace_back(b.kind);
    for (const auto& p : b.patterns) {
      ids.push_back(unsigned(impl_->patterns.size()));
      exprs.push_back(p.regex);
      flags.push_back(p.flags);
      impl_->patterns.push_back({kind, p.validate});
    }
    for (const auto& n : b.numeric) {
      impl_->numeric.push_back({kind, n});
      impl_->letter_end = impl_->letter_end || n.letter_end;
    }
  }

  for (const auto& c : config.custom) {
    if (std::find(kinds_.begin(), kinds_.end(), c.name) != kinds_.end() ||
        std::find(builtin_kinds().begin(), builtin_kinds().end(), c.name) != builtin_kinds().end())
      throw std::invalid_argument("redaction.custom '" + c.name + "': the name is taken by a built-in detector");
    RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_unique<RE2>(c.pattern, o);
    if (!re->ok()) throw std::invalid_argument("redaction.custom '" + c.name + "': not a valid RE2 pattern");
    impl_->custom.push_back({kinds_.size(), std::move(re)});
    kinds_.push_back(c.name);
  }

  if (!exprs.empty()) {
    try {
      impl_->db = net::hyperscan::Database::compile(exprs, flags, ids);
    } catch (const net::hyperscan::CompileError& e) {
      throw std::invalid_argument(std::string("redaction: Hyperscan refused the built-in patterns: ") + e.what());
    }
    impl_->scratch.serve(impl_->db);
  }
}

Redactor::~Redactor() = default;

void Redactor::scan(std::string_view text, std::vector<Span>& spans) const {
  if (fault_hook_) fault_hook_(text);
  if (text.empty()) return;
  if (text.size() > 0xffffffffu) throw std::length_error("redaction: text too large");
  if (impl_->db) {
    struct Ctx {
      std::string_view text;
      const Impl* impl;
      std::vector<Span>* spans;
    } ctx{text, impl_.get(), &spans};
    auto on_match = [](unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
                       void* p) -> int {
      auto& c = *static_cast<Ctx*>(p);
      const auto& pat = c.impl->patterns[id];
      std::size_t b = from, e = to;
      if (pat.validate(c.text, b, e) && b < e) c.spans->push_back({b, e, pat.kind});
      return 0;
    };
    if (hs_scan(impl_->db.get(), text.data(), unsigned(text.size()), 0, impl_->scratch.get(), on_match, &ctx) != HS_SUCCESS)
      throw std::runtime_error("redaction: scan failed");
  }
  if (!impl_->numeric.empty()) impl_->scan_numeric(text, spans);
  for (const auto& c : impl_->custom) {
    re2::StringPiece input(text.data(), text.size());
    re2::StringPiece m;
    std::size_t pos = 0;
    while (pos <= text.size() && c.re->Match(input, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
      const std::size_t b = std::size_t(m.data() - text.data()), e = b + m.size();
      if (e > b) spans.push_back({b, e, c.kind});
      pos = e > b ? e : e + 1;  // an empty match moves on by one
    }
  }
}

std::vector<Redactor::Span> Redactor::find(std::string_view text) const {
  std::vector<Span> raw;
  scan(text, raw);
  if (raw.empty()) return raw;
  std::sort(raw.begin(), raw.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  // Merge overlapping spans; the merged span takes the highest-priority (lowest) kind.
  std::vector<Span> out;
  out.push_back(raw.front());
  for (std::size_t i = 1; i < raw.size(); ++i) {
    Span& last = out.back();
    const Span& s = raw[i];
    if (s.begin < last.end) {
      last.end = std::max(last.end, s.end);
      last.kind = std::min(last.kind, s.kind);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

std::optional<std::string> Redactor::redact(std::string_view text, Counts& counts) const {
  const auto spans = find(text);
  if (spans.empty()) return std::nullopt;
  if (counts.size() < kinds_.size()) counts.resize(kinds_.size());
  std::string out;
  out.reserve(text.size() + spans.size() * 16);
  std::size_t pos = 0;
  for (const auto& s : spans) {
    out.append(text.substr(pos, s.begin - pos));
    out.append("[REDACTED:").append(kinds_[s.kind]).push_back(']');
    ++counts[s.kind];
    pos = s.end;
  }
  out.append(text.substr(pos));
  return out;
}

std::string Redactor::redact_copy(std::string_view text, std::map<std::string, std::uint64_t>* counts) const {
  Counts c;
  auto r = redact(text, c);
  if (counts) add_counts(c, *counts);
  return r ? std::move(*r) : std::string(text);
}

void Redactor::add_counts(const Counts& counts, std::map<std::string, std::uint64_t>& out) const {
  for (std::size_t i = 0; i < counts.size() && i < kinds_.size(); ++i)
    if (counts[i]) out[kinds_[i]] += counts[i];
}

}  // namespace pc::mcp
