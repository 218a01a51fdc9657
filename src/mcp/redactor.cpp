#include "mcp/redactor.h"

#include <arpa/inet.h>
#include <hs/hs.h>
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "core/base64url.h"

namespace pc::mcp {
namespace {

// ---- character classes (ASCII: the detectors look for ASCII-shaped values)
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }

bool is_token_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }  // base64url and key alphabets

char at(std::string_view t, std::size_t i) { return i < t.size() ? t[i] : '\0'; }
char before(std::string_view t, std::size_t i) { return i > 0 ? t[i - 1] : '\0'; }

// A validator sees one Hyperscan match [begin, end) (begin is 0 for patterns compiled without
// start-of-match) and may move either edge; false drops the match.
using Validator = bool (*)(std::string_view text, std::size_t& begin, std::size_t& end);

// ---- validators

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

// Payment cards: 13–19 digits, in groups separated by single spaces or dashes, first digit 2–6
// (the issuer ranges of the card networks), Luhn-valid. Hyperscan reports every group end; the
// start may be any group start within 19 digits before it, so "Order 12 4111 1111 1111 1111"
// still finds the card. A run failing Luhn at every group alignment is left alone.
bool credit_card(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(at(t, e)) || e == 0 || !is_digit(t[e - 1])) return false;
  // Walk back over digits and single separators, collecting group starts.
  int digits = 0;
  std::size_t i = e;
  while (i > 0 && digits <= 19) {
    const char c = t[i - 1];
    if (is_digit(c)) {
      ++digits;
      --i;
      const char p = before(t, i);
      const bool group_start = !is_digit(p);
      if (group_start && digits >= 13 && digits <= 19 && !is_alnum(p) && t[i] >= '2' && t[i] <= '6' &&
          luhn_ok(t, i, e)) {
        b = i;
        return true;
      }
      if (group_start) {
        // Continue over one separator when a digit precedes it.
        if ((p == ' ' || p == '-') && is_digit(before(t, i - 1))) {
          --i;
          continue;
        }
        return false;
      }
    } else {
      return false;
    }
  }
  return false;
}

// IBAN lengths per country (ISO 13616 registry); countries not listed take 15–34.
int iban_length(char a, char b) {
  static const std::unordered_map<std::string, int> lengths = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
      {"BH", 22}, {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18},
      {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
      {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
      {"IL", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21},
      {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27},
      {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
      {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
      {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20}};
  const auto it = lengths.find(std::string{a, b});
  return it == lengths.end() ? 0 : it->second;
}

bool iban_mod97(const std::string& s) {  // s: IBAN without spaces, upper case
  unsigned r = 0;
  auto feed = [&r](char c) {
    if (is_digit(c)) {
      r = (r * 10 + unsigned(c - '0')) % 97;
    } else {
      const unsigned v = unsigned(c - 'A') + 10;  // two digits
      r = (r * 100 + v) % 97;
    }
  };
  for (std::size_t i = 4; i < s.size(); ++i) feed(s[i]);
  for (std::size_t i = 0; i < 4; ++i) feed(s[i]);
  return r == 1;
}

bool iban(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(before(t, b)) || is_alnum(at(t, e))) return false;
  std::string s;
  s.reserve(e - b);
  for (std::size_t i = b; i < e; ++i)
    if (t[i] != ' ') s.push_back(t[i]);
  if (s.size() < 15 || s.size() > 34) return false;
  const int want = iban_length(s[0], s[1]);
  if (want != 0 && int(s.size()) != want) return false;
  return iban_mod97(s);
}

int number(std::string_view t, std::size_t b, std::size_t n) {
  int v = 0;
  for (std::size_t i = b; i < b + n; ++i) v = v * 10 + (t[i] - '0');
  return v;
}

// US SSN AAA-GG-SSSS (or spaces): area not 000, 666 or 9xx; group not 00; serial not 0000.
bool us_ssn(std::string_view t, std::size_t& b, std::size_t& e) {
  if (e - b != 11 || is_alnum(before(t, b)) || is_alnum(at(t, e))) return false;
  // Part of a longer dashed number (e.g. 1-123-45-6789-0)?
  if ((before(t, b) == '-' && is_digit(before(t, b - 1))) || (at(t, e) == '-' && is_digit(at(t, e + 1))))
    return false;
  const int area = number(t, b, 3), group = number(t, b + 4, 2), serial = number(t, b + 7, 4);
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

// UK National Insurance number: two prefix letters (D, F, I, Q, U, V never; O not second; BG,
// GB, KN, NK, NT, TN, ZZ not allocated), six digits, suffix A–D.
bool uk_nino(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(before(t, b)) || is_alnum(at(t, e))) return false;
  const std::string_view p = t.substr(b, 2);
  for (const char* bad : {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
    if (p == bad) return false;
  return true;
}

bool email(std::string_view t, std::size_t& b, std::size_t& e) {
  while (b < e && t[b] == '.') ++b;  // a local part does not start with a dot
  if (is_alnum(at(t, e)) || at(t, e) == '-') return false;
  const auto at_sign = t.find('@', b);
  if (at_sign == std::string_view::npos || at_sign == b || at_sign - b > 64 || at_sign >= e) return false;
  return true;
}

bool ipv4(std::string_view t, std::size_t& b, std::size_t& e) {
  // Not a piece of a longer dotted run (an OID, a version like 1.2.3.4.5).
  if (is_alnum(before(t, b)) || (before(t, b) == '.' && is_digit(before(t, b - 1)))) return false;
  if (is_alnum(at(t, e)) || (at(t, e) == '.' && is_digit(at(t, e + 1)))) return false;
  std::size_t i = b;
  for (int part = 0; part < 4; ++part) {
    const std::size_t s = i;
    while (i < e && is_digit(t[i])) ++i;
    const std::size_t n = i - s;
    if (n == 0 || n > 3 || (n > 1 && t[s] == '0') || number(t, s, n) > 255) return false;
    if (part < 3) {
      if (i >= e || t[i] != '.') return false;
      ++i;
    }
  }
  return i == e;
}

bool ipv6(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_alnum(before(t, b)) || before(t, b) == ':') return false;
  if (is_alnum(at(t, e)) || at(t, e) == ':') return false;
  if (e - b > 39) return false;
  char buf[40];
  std::memcpy(buf, t.data() + b, e - b);
  buf[e - b] = '\0';
  in6_addr addr;
  if (inet_pton(AF_INET6, buf, &addr) != 1) return false;
  // At least two groups written out, one of them three or more digits long: ::1, a:b:: and
  // times like 12:30:: are not worth a redaction.
  int groups = 0;
  bool long_group = false;
  std::size_t run = 0;
  for (std::size_t i = b; i <= e; ++i) {
    if (i < e && t[i] != ':') {
      ++run;
      continue;
    }
    if (run > 0) ++groups;
    if (run >= 3) long_group = true;
    run = 0;
  }
  return groups >= 2 && long_group;
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

bool jwt(std::string_view t, std::size_t& b, std::size_t& e) {
  if (is_token_char(before(t, b)) || before(t, b) == '.') return false;
  if (is_token_char(at(t, e)) || (at(t, e) == '.' && is_token_char(at(t, e + 1)))) return false;
  const std::string_view v = t.substr(b, e - b);
  const auto segments = std::count(v.begin(), v.end(), '.') + 1;
  if (segments != 3 && segments != 5) return false;
  const auto header = core::base64url_decode(v.substr(0, v.find('.')));
  if (!header) return false;
  std::string_view h = *header;
  while (!h.empty() && (h.back() == ' ' || h.back() == '\n' || h.back() == '\r' || h.back() == '\t'))
    h.remove_suffix(1);
  return h.size() >= 2 && h.front() == '{' && h.back() == '}';
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

bool api_token(std::string_view t, std::size_t& b, std::size_t& e) {
  return !is_token_char(before(t, b)) && !is_token_char(at(t, e));
}

bool phone_digits(std::string_view t, std::size_t b, std::size_t e, int lo, int hi) {
  const int n = int(std::count_if(t.begin() + b, t.begin() + e, is_digit));
  return n >= lo && n <= hi;
}

bool phone_boundaries(std::string_view t, std::size_t b, std::size_t e) {
  const char p = before(t, b), n = at(t, e);
  if (is_alnum(p) || p == '+' || is_alnum(n)) return false;
  // A piece of a longer dashed or dotted number.
  if ((p == '-' || p == '.') && is_digit(before(t, b - 1))) return false;
  if ((n == '-' || n == '.') && is_digit(at(t, e + 1))) return false;
  return true;
}

bool phone_international(std::string_view t, std::size_t& b, std::size_t& e) {
  return phone_boundaries(t, b, e) && phone_digits(t, b, e, 8, 15);
}

bool phone_nanp(std::string_view t, std::size_t& b, std::size_t& e) {
  if (!phone_boundaries(t, b, e)) return false;
  // Area code: the first digit after an optional leading 1 is 2–9.
  std::size_t i = b;
  if (t[i] == '1' && !is_digit(at(t, i + 1))) ++i;
  while (i < e && !is_digit(t[i])) ++i;
  return i < e && t[i] >= '2';
}

bool phone_national(std::string_view t, std::size_t& b, std::size_t& e) {
  return phone_boundaries(t, b, e) && phone_digits(t, b, e, 10, 11);
}

// ---- the built-in detectors

struct Pattern {
  const char* regex;
  unsigned flags;  // extra Hyperscan flags
  Validator validate;
};

struct Builtin {
  const char* kind;
  std::vector<Pattern> patterns;
};

constexpr unsigned kSom = HS_FLAG_SOM_LEFTMOST;

// Priority order: when spans of two kinds overlap, the merged span takes the earlier kind.
const std::vector<Builtin>& builtins() {
  static const std::vector<Builtin> table = {
      {"private_key", {{R"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)", kSom, private_key}}},
      {"jwt", {{R"(\beyJ[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){2,4})", kSom, jwt}}},
      {"aws_key",
       {{R"(\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA|ABIA|ACCA)[A-Z0-9]{16}\b)", kSom, aws_access_key},
        {R"((?i:aws_?secret_?(?:access_?)?key|secretaccesskey)["']?[ \t]{0,4}[:=][ \t]{0,4}["']?[A-Za-z0-9/+]{40})",
         0, aws_secret_key}}},
      {"api_key",
       {{R"(gh[pousr]_[A-Za-z0-9]{36,})", kSom, api_token},          // GitHub tokens
        {R"(github_pat_[A-Za-z0-9_]{22,})", kSom, api_token},        // GitHub fine-grained PAT
        {R"(glpat-[A-Za-z0-9_-]{20,})", kSom, api_token},            // GitLab PAT
        {R"(xox[abposr]-[A-Za-z0-9-]{10,})", kSom, api_token},       // Slack tokens
        {R"([rs]k_(?:live|test)_[A-Za-z0-9]{16,})", kSom, api_token},  // Stripe secret/restricted keys
        {R"(AIza[0-9A-Za-z_-]{35})", kSom, api_token},               // Google API keys
        {R"(sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,})", kSom, api_token},  // OpenAI / Anthropic keys
        {R"(npm_[A-Za-z0-9]{36})", kSom, api_token},                 // npm tokens
        {R"(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})", kSom, api_token}}},  // SendGrid
      {"iban", {{R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b)", kSom, iban}}},
      {"credit_card", {{R"(\d(?:[ -]?\d){12,18}\b)", 0, credit_card}}},
      {"us_ssn", {{R"(\b\d{3}-\d{2}-\d{4}\b)", kSom, us_ssn}, {R"(\b\d{3} \d{2} \d{4}\b)", kSom, us_ssn}}},
      {"uk_nino", {{R"(\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b)", kSom, uk_nino}}},
      {"email", {{R"([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})", kSom, email}}},
      {"ip_address",
       {{R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)", kSom, ipv4},
        {R"(\b(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})", kSom, ipv6}}},
      {"phone",
       {{R"(\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){2,6}\b)", kSom, phone_international},
        {R"((?:\b1[ .-]?)?(?:\(\d{3}\)[ .-]?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b)", kSom, phone_nanp},
        {R"(\b0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}\b)", kSom, phone_national}}},
  };
  return table;
}

std::atomic<std::uint64_t> next_redactor_id{1};

// One Hyperscan scratch per thread and Redactor, cloned from the Redactor's prototype on first
// use. Keyed by a never-reused id, not the database address (a new database could reuse an old
// address with a larger scratch need). A few entries per thread: config reloads are rare.
struct ThreadScratch {
  struct Entry {
    std::uint64_t id;
    hs_scratch_t* scratch;
  };
  std::vector<Entry> entries;
  ~ThreadScratch() {
    for (auto& e : entries) hs_free_scratch(e.scratch);
  }
};
thread_local ThreadScratch tls_scratch;
constexpr std::size_t kScratchPerThread = 8;

}  // namespace

struct Redactor::Impl {
  struct Compiled {
    std::size_t kind;
    Validator validate;
  };
  std::uint64_t id = next_redactor_id.fetch_add(1);
  hs_database_t* db = nullptr;
  hs_scratch_t* proto = nullptr;
  std::vector<Compiled> patterns;  // by Hyperscan id
  struct Custom {
    std::size_t kind;
    std::unique_ptr<RE2> re;
  };
  std::vector<Custom> custom;

  ~Impl() {
    if (proto) hs_free_scratch(proto);
    if (db) hs_free_database(db);
  }

  hs_scratch_t* scratch() const {
    auto& entries = tls_scratch.entries;
    for (auto& e : entries)
      if (e.id == id) return e.scratch;
    hs_scratch_t* s = nullptr;
    if (hs_clone_scratch(proto, &s) != HS_SUCCESS) throw std::runtime_error("redactor: cannot allocate scratch");
    if (entries.size() >= kScratchPerThread) {
      hs_free_scratch(entries.front().scratch);
      entries.erase(entries.begin());
    }
    entries.push_back({id, s});
    return s;
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
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), unsigned(exprs.size()), HS_MODE_BLOCK, nullptr,
                         &impl_->db, &err) != HS_SUCCESS) {
      const std::string why = err && err->message ? err->message : "unknown error";
      const int which = err ? err->expression : -1;
      hs_free_compile_error(err);
      throw std::invalid_argument("redaction: Hyperscan refused built-in pattern " + std::to_string(which) + ": " +
                                  why);
    }
    if (hs_alloc_scratch(impl_->db, &impl_->proto) != HS_SUCCESS)
      throw std::runtime_error("redaction: cannot allocate Hyperscan scratch");
  }
}

Redactor::~Redactor() = default;

void Redactor::scan(std::string_view text, std::vector<Span>& spans) const {
  if (fault_hook_) fault_hook_(text);
  if (text.empty()) return;
  if (impl_->db) {
    if (text.size() > 0xffffffffu) throw std::length_error("redaction: text too large");
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
    const hs_error_t rc = hs_scan(impl_->db, text.data(), unsigned(text.size()), 0, impl_->scratch(), on_match, &ctx);
    if (rc != HS_SUCCESS) throw std::runtime_error("redaction: scan failed");
  }
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
