// YAML → Config. The loader walks the parsed document with small declarative tables (one per
// section) whose entries know their key, how to read the value and what a valid value is; then a
// short cross-field pass checks rules that involve more than one key. Every problem becomes a
// ConfigError with its key path, so `check-config` can list them all in one run.
#include "core/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>
#include <set>
#include <string_view>
#include <system_error>

namespace pc::core {

std::string Config::sqlite_path() const {
  if (!storage.sqlite_path.empty()) return storage.sqlite_path;
  return (std::filesystem::path(data_dir) / "portcullis.db").string();
}

std::string Config::master_key_path() const {
  if (!keys.master_key_file.empty()) return keys.master_key_file;
  return (std::filesystem::path(data_dir) / "master.key").string();
}

std::string Config::token_issuer() const {
  if (!tokens.issuer.empty()) return tokens.issuer;
  return std::string(server.tls.enabled() ? "https://" : "http://") + server.listen;
}

namespace {

using YAML::Node;

// ---------------------------------------------------------------------------------------------
// Small text and file helpers

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

std::string trim_right(std::string s) {
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

// A cap so that a mistaken path (a device, a log file) cannot eat memory or hang the loader.
constexpr std::size_t kMaxFileBytes = 16u << 20;

// Reads a whole small file. POSIX calls rather than iostreams so the reason (errno, "is a
// directory") reaches the error message.
std::optional<std::string> read_file(const std::string& path, std::string& why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = std::error_code(errno, std::generic_category()).message();
    return std::nullopt;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    why = "is a directory";
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = std::error_code(errno, std::generic_category()).message();
      return std::nullopt;
    }
    if (n == 0) return out;
    if (out.size() + static_cast<std::size_t>(n) > kMaxFileBytes) {
      why = "larger than 16 MiB";
      return std::nullopt;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Expands ${NAME} from the environment; "$${" stands for a literal "${". It runs on scalar values
// after YAML parsing, so an expanded value can never add keys or change the document's shape.
std::optional<std::string> expand_env(std::string_view in, std::string& why) {
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    std::string_view rest = in.substr(i);
    if (rest.starts_with("$${")) {
      out += "${";
      i += 3;
    } else if (rest.starts_with("${")) {
      std::size_t close = rest.find('}');
      if (close == std::string_view::npos) {
        why = "unterminated ${ (write $${ for a literal ${)";
        return std::nullopt;
      }
      std::string name(rest.substr(2, close - 2));
      if (!valid_env_name(name)) {
        why = "invalid environment variable name '" + name + "'";
        return std::nullopt;
      }
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) {
        why = "environment variable " + name + " is not set";
        return std::nullopt;
      }
      out += value;
      i += close + 1;
    } else {
      out += in[i++];
    }
  }
  return out;
}

// Classic two-row Levenshtein; keys are short, so this is cheap.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// ---------------------------------------------------------------------------------------------
// Host, port and URL rules

bool is_ipv4(std::string_view s) {
  in_addr a{};
  return ::inet_pton(AF_INET, std::string(s).c_str(), &a) == 1;
}

bool is_ipv6(std::string_view s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

// RFC 1123 host name. A dotted all-numeric name must be a real IPv4 address: "999.1.1.1" is a
// typo, not a host name.
bool is_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  if (s.find_first_not_of("0123456789.") == std::string_view::npos) return is_ipv4(s);
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = std::min(s.find('.', start), s.size());
    std::string_view label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    start = end + 1;
  }
  return true;
}

bool is_port(std::string_view s) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && port <= 65535;
}

// "host", "host:port", "[v6]" or "[v6]:port". IPv6 must be bracketed, else its colons are
// ambiguous with the port separator.
struct Authority {
  std::string_view host;
  std::optional<std::string_view> port;
  bool bracketed = false;
};

std::optional<Authority> split_authority(std::string_view s) {
  Authority a;
  std::string_view after;
  if (s.starts_with('[')) {
    std::size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    a.host = s.substr(1, close - 1);
    a.bracketed = true;
    after = s.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return std::nullopt;
  } else {
    std::size_t colon = s.rfind(':');
    a.host = s.substr(0, colon);
    if (a.host.find(':') != std::string_view::npos) return std::nullopt;
    if (colon != std::string_view::npos) after = s.substr(colon);
  }
  if (!after.empty()) a.port = after.substr(1);
  return a;
}

bool valid_host(const Authority& a) {
  return a.bracketed ? is_ipv6(a.host) : is_hostname(a.host);
}

bool is_loopback(const Authority& a) {
  if (a.bracketed) {
    in6_addr addr{};
    return ::inet_pton(AF_INET6, std::string(a.host).c_str(), &addr) == 1 &&
           std::memcmp(&addr, &in6addr_loopback, sizeof addr) == 0;
  }
  std::string host(a.host);
  return lower(host) == "localhost" || (is_ipv4(host) && host.starts_with("127."));
}

// ---------------------------------------------------------------------------------------------
// Value checks: each returns an error message, or "" when the value is acceptable.

using Check = std::function<std::string(const std::string&)>;

std::string non_empty(const std::string& v) { return v.empty() ? "must not be empty" : ""; }

// Wraps a check so that "" (the "not configured" default) passes.
Check empty_or(Check check) {
  return [check](const std::string& v) { return v.empty() ? std::string() : check(v); };
}

Check one_of(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) {
    return std::find(allowed.begin(), allowed.end(), v) != allowed.end()
               ? std::string()
               : "must be one of: " + join_words(allowed);
  };
}

// Connection strings: the value may hold a password, so the message never repeats it.
Check url_scheme(std::vector<std::string> schemes) {
  return [schemes](const std::string& v) {
    for (const auto& s : schemes)
      if (v.starts_with(s)) return std::string();
    std::string list;
    for (const auto& s : schemes) list += (list.empty() ? "" : " or ") + s;
    return "must start with " + list;
  };
}

std::string listen_address(const std::string& v) {
  auto a = split_authority(v);
  if (!a || !a->port)
    return "must be host:port (e.g. 127.0.0.1:8080, [::1]:8080 or localhost:8080)";
  if (!valid_host(*a))
    return "host must be an IPv4 address, a bracketed IPv6 address or a host name";
  if (!is_port(*a->port)) return "port must be a number between 0 and 65535";
  return "";
}

// Tokens and keys are trusted because of where they come from, so the place must be reached over
// TLS; plain http is tolerated only on loopback, for local development and tests.
std::string fetch_url(const std::string& v) {
  bool https = v.starts_with("https://");
  if (!https && !v.starts_with("http://")) return "must be an https:// URL";
  std::string_view rest = std::string_view(v).substr(https ? 8 : 7);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return "must not contain credentials";
  auto a = split_authority(authority);
  if (!a || !valid_host(*a) || (a->port && !is_port(*a->port)))
    return "must be a URL with a valid host";
  if (!https && !is_loopback(*a))
    return "must use https:// (http:// is allowed only for loopback hosts)";
  return "";
}

// OpenID Connect issuer identifiers have no query or fragment (discovery appends a path).
std::string issuer_url(const std::string& v) {
  std::string problem = fetch_url(v);
  if (problem.empty() && v.find_first_of("?#") != std::string::npos)
    problem = "must not contain a query or fragment";
  return problem;
}

std::string signing_algorithm(const std::string& v) {
  static const std::vector<std::string> allowed = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                                   "PS512", "ES256", "ES384", "ES512", "EdDSA"};
  if (lower(v) == "none") return "'none' is never accepted: tokens must be signed";
  if (v == "HS256" || v == "HS384" || v == "HS512")
    return v + " is a shared-secret algorithm and cannot be verified with an issuer's public keys";
  return one_of(allowed)(v);
}

std::string tier_name(const std::string& v) {
  bool ok = !v.empty() && v.size() <= 32 && v[0] >= 'a' && v[0] <= 'z' &&
            std::all_of(v.begin(), v.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
            });
  return ok ? "" : "tier names must match ^[a-z][a-z0-9_-]{0,31}$";
}

// "HH:MM" or "HH:MM:SS", 24-hour (server.usage_plans.day_start_utc).
std::string time_of_day(const std::string& v) {
  return parse_time_of_day(v) ? "" : "must be a UTC time of day, HH:MM or HH:MM:SS";
}

std::string readable_file(const std::string& path) {
  std::string why;
  return read_file(path, why) ? "" : "cannot read " + path + ": " + why;
}

// ---------------------------------------------------------------------------------------------
// Errors and the reader

// Keeps errors in document order, at most one per key path: the first problem found at a key is
// the useful one (a wrongly typed value would otherwise also fail a later cross-field rule).
class Errors {
 public:
  void add(const std::string& path, std::string message) {
    if (paths_.insert(path).second) list_.push_back({path, std::move(message)});
  }
  bool empty() const { return list_.empty(); }
  std::vector<ConfigError> take() { return std::move(list_); }

 private:
  std::set<std::string> paths_;
  std::vector<ConfigError> list_;
};

// Reads one node found at `path`. A null node (key absent, or `key:` with no value) means "keep
// the default" for every kind of value.
using Handler = std::function<void(const Node&, const std::string& path)>;

struct Field {
  std::string_view key;
  Handler read;
  bool required = false;  // must be present with a non-null value
};
constexpr bool kRequired = true;
constexpr bool kNonEmptyList = true;

// Builds handlers that write into a Config. Handlers capture references to the destination
// fields, so a handler must not outlive the Config it was built for.
class Reader {
 public:
  explicit Reader(Errors& errors) : errors_(errors) {}

  // A mapping with a fixed set of keys: anything else is an unknown key.
  Handler fields(std::vector<Field> table) {
    return [this, table = std::move(table)](const Node& node, const std::string& path) {
      if (!node.IsNull() && !node.IsMap()) return not_a_mapping(path);
      std::set<std::string> seen, present;
      for (const auto& kv : node) {
        auto key = key_of(kv.first, path, seen);
        if (!key) continue;
        std::string key_path = join_path(path, *key);
        auto field = std::find_if(table.begin(), table.end(),
                                  [&](const Field& f) { return f.key == *key; });
        if (field == table.end()) {
          errors_.add(key_path, unknown_key_message(*key, table));
          continue;
        }
        if (!kv.second.IsNull()) present.insert(*key);
        field->read(kv.second, key_path);
      }
      for (const auto& f : table)
        if (f.required && !present.count(std::string(f.key)))
          errors_.add(join_path(path, f.key), "required");
    };
  }

  // A mapping whose keys are names chosen by the user (tiers). Entries given replace the entry of
  // the same name; entries not given are kept.
  template <class T>
  Handler named(std::map<std::string, T>& out, Check name_check,
                std::function<Handler(T&)> item) {
    return [this, &out, name_check, item](const Node& node, const std::string& path) {
      if (!node.IsNull() && !node.IsMap()) return not_a_mapping(path);
      std::set<std::string> seen;
      for (const auto& kv : node) {
        auto name = key_of(kv.first, path, seen);
        if (!name) continue;
        std::string item_path = join_path(path, *name);
        if (std::string problem = name_check(*name); !problem.empty()) {
          errors_.add(item_path, problem);
          continue;
        }
        T value{};
        item(value)(kv.second, item_path);
        out[*name] = std::move(value);
      }
    };
  }

  // A list; the list in the file replaces the default list as a whole.
  template <class T>
  Handler list(std::vector<T>& out, std::function<Handler(T&)> item, bool non_empty = false) {
    return [this, &out, item, non_empty](const Node& node, const std::string& path) {
      if (node.IsNull()) return;
      if (!node.IsSequence()) return errors_.add(path, "must be a list");
      std::vector<T> items;
      std::size_t i = 0;
      for (const auto& child : node) {
        std::string item_path = index_path(path, i++);
        // Null items would silently become empty values that no check sees.
        if (child.IsNull()) {
          errors_.add(item_path, "must not be empty");
          continue;
        }
        T value{};
        item(value)(child, item_path);
        items.push_back(std::move(value));
      }
      if (non_empty && node.size() == 0) return errors_.add(path, "must not be empty");
      out = std::move(items);
    };
  }

  Handler strings(std::vector<std::string>& out, Check each = {}, bool non_empty = false) {
    return list<std::string>(
        out, [this, each](std::string& s) { return text(s, each); }, non_empty);
  }

  Handler text(std::string& out, Check check = {}) { return string_value(out, check, false); }

  // Secret-bearing values may say `file:/path` to keep the secret out of the config file.
  Handler secret(std::string& out, Check check) { return string_value(out, check, true); }

  template <class T>
  Handler integer(T& out, std::uint64_t min = 0,
                  std::uint64_t max = std::numeric_limits<T>::max()) {
    return [this, &out, min, max](const Node& node, const std::string& path) {
      constexpr const char* kType = "must be a non-negative integer";
      auto v = scalar(node, path, kType);
      if (!v) return;
      std::uint64_t x = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
      if (v->empty() || ec == std::errc::invalid_argument || end != v->data() + v->size())
        return errors_.add(path, kType);
      bool in_range = ec == std::errc() && x >= min && x <= max;
      if (in_range) {
        out = static_cast<T>(x);
      } else if (max < std::numeric_limits<T>::max()) {
        errors_.add(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      } else if (ec == std::errc() && x < min) {
        errors_.add(path, "must be at least " + std::to_string(min));
      } else {
        errors_.add(path, "must be at most " + std::to_string(max));
      }
    };
  }

  Handler positive_number(double& out) {
    return [this, &out](const Node& node, const std::string& path) {
      constexpr const char* kMessage = "must be a number greater than 0";
      auto v = scalar(node, path, kMessage);
      if (!v) return;
      double x = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
      if (v->empty() || ec != std::errc() || end != v->data() + v->size() || !std::isfinite(x) ||
          x <= 0)
        return errors_.add(path, kMessage);
      out = x;
    };
  }

  // a number >= 0 (0 meaning "off").
  Handler non_negative_number(double& out, double max) {
    return [this, &out, max](const Node& node, const std::string& path) {
      const std::string message = "must be a number between 0 and " + std::to_string(static_cast<long long>(max));
      auto v = scalar(node, path, message);
      if (!v) return;
      double x = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
      if (v->empty() || ec != std::errc() || end != v->data() + v->size() || !std::isfinite(x) || x < 0 || x > max)
        return errors_.add(path, message);
      out = x;
    };
  }

  Handler boolean(bool& out) {
    return [this, &out](const Node& node, const std::string& path) {
      constexpr const char* kMessage = "must be true or false";
      auto v = scalar(node, path, kMessage);
      if (!v) return;
      if (*v == "true" || *v == "True" || *v == "TRUE") {
        out = true;
      } else if (*v == "false" || *v == "False" || *v == "FALSE") {
        out = false;
      } else {
        errors_.add(path, kMessage);
      }
    };
  }

 private:
  // The scalar text with ${VAR} expanded; nullopt for null (keep the default) or on error.
  std::optional<std::string> scalar(const Node& node, const std::string& path,
                                    std::string_view type_message) {
    if (node.IsNull()) return std::nullopt;
    if (!node.IsScalar()) {
      errors_.add(path, std::string(type_message));
      return std::nullopt;
    }
    std::string why;
    auto v = expand_env(node.Scalar(), why);
    if (!v) errors_.add(path, why);
    return v;
  }

  Handler string_value(std::string& out, Check check, bool allow_file) {
    return [this, &out, check, allow_file](const Node& node, const std::string& path) {
      auto v = scalar(node, path, "must be a string");
      if (!v) return;
      if (allow_file && v->starts_with("file:")) {
        std::string file = v->substr(5), why;
        auto content = read_file(file, why);
        if (!content) return errors_.add(path, "cannot read " + file + ": " + why);
        v = trim_right(std::move(*content));
      }
      if (check) {
        if (std::string problem = check(*v); !problem.empty()) return errors_.add(path, problem);
      }
      out = std::move(*v);
    };
  }

  void not_a_mapping(const std::string& path) {
    // At the root there is no key path to point at, so say what the whole file should be.
    errors_.add(path, path.empty() ? "the configuration must be a YAML mapping of sections"
                                   : "must be a mapping");
  }

  // The key as a string, or nullopt (after reporting) for non-scalar or repeated keys.
  std::optional<std::string> key_of(const Node& key, const std::string& path,
                                    std::set<std::string>& seen) {
    if (!key.IsScalar()) {
      errors_.add(path, "keys must be plain strings");
      return std::nullopt;
    }
    if (!seen.insert(key.Scalar()).second) {
      errors_.add(join_path(path, key.Scalar()), "duplicate key");
      return std::nullopt;
    }
    return key.Scalar();
  }

  static std::string unknown_key_message(const std::string& key, const std::vector<Field>& table) {
    const Field* best = nullptr;
    std::size_t best_distance = 3;  // suggest only near misses
    for (const auto& f : table) {
      std::size_t d = edit_distance(key, f.key);
      if (d < best_distance) best = &f, best_distance = d;
    }
    return best ? "unknown key (did you mean '" + std::string(best->key) + "'?)" : "unknown key";
  }

  Errors& errors_;
};

// ---------------------------------------------------------------------------------------------
// The schema: one table per section, mirroring SPEC §3.

constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::uint64_t kGiB = 1u << 30;

// An IP literal or CIDR ("10.0.0.0/8", "::1", "fd00::/8"); host bits beyond the prefix are an
// error, since "10.1.2.3/8" most likely is a typo for something narrower.
std::string ip_or_cidr(const std::string& v) {
  const auto slash = v.find('/');
  const std::string ip = v.substr(0, slash);
  unsigned char bytes[16] = {};
  const bool v6 = ip.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), bytes) != 1) return "must be an IP address or CIDR";
  const int bits = v6 ? 128 : 32;
  int prefix = bits;
  if (slash != std::string::npos) {
    const std::string p = v.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix < 0 || prefix > bits)
      return "must be an IP address or CIDR (prefix 0-" + std::to_string(bits) + ")";
  }
  for (int i = prefix; i < bits; ++i)
    if (bytes[i / 8] & (0x80 >> (i % 8))) return "has host bits set beyond the /" + std::to_string(prefix) + " prefix";
  return "";
}

Handler edge_budget(Reader& r, EdgeBudget& b) {
  return r.fields({
      {"rps", r.non_negative_number(b.rps, 1e6)},
      {"burst", r.integer(b.burst, 0, 100000000)},
  });
}

Handler waf_rule_item(Reader& r, WafRule& c) {
  return r.fields({
      {"name", r.text(c.name, non_empty), kRequired},
      {"action", r.text(c.action, one_of({"block", "log"}))},
      {"methods", r.strings(c.methods, non_empty)},
      {"path", r.text(c.path, non_empty)},
      {"query", r.text(c.query, non_empty)},
      {"header", r.fields({
                     {"name", r.text(c.header_name, non_empty), kRequired},
                     {"pattern", r.text(c.header_pattern, non_empty), kRequired},
                 })},
      {"body", r.text(c.body, non_empty)},
      {"caseless", r.boolean(c.caseless)},
  });
}

Handler edge_section(Reader& r, EdgeConfig& c) {
  return r.fields({
      {"max_connections_per_ip", r.integer(c.max_connections_per_ip, 0, 1000000)},
      {"requests_per_ip", edge_budget(r, c.requests_per_ip)},
      {"token_endpoint", edge_budget(r, c.token_endpoint)},
      {"admin_api", edge_budget(r, c.admin_api)},
      {"a2a_push", edge_budget(r, c.a2a_push)},
      {"forwarded_header", r.text(c.forwarded_header, one_of({"x-forwarded-for", "forwarded"}))},
      {"max_tracked_ips", r.integer(c.max_tracked_ips, 16, 16u << 20)},
      {"waf", r.list<WafRule>(c.waf, [&r](auto& x) { return waf_rule_item(r, x); })},
  });
}

Handler server_section(Reader& r, ServerConfig& c) {
  auto& l = c.limits;
  auto& u = c.upstream;
  return r.fields({
      {"listen", r.text(c.listen, listen_address)},
      {"tls", r.fields({
                  {"cert_file", r.text(c.tls.cert_file, empty_or(readable_file))},
                  {"key_file", r.text(c.tls.key_file, empty_or(readable_file))},
                  {"min_version", r.text(c.tls.min_version, one_of({"1.2", "1.3"}))},
              })},
      {"threads", r.integer(c.threads, 0, 256)},
      {"limits", r.fields({
                     {"max_header_bytes", r.integer(l.max_header_bytes, 1024, kMiB)},
                     {"max_body_bytes", r.integer(l.max_body_bytes, 1, kGiB)},
                     {"max_connections", r.integer(l.max_connections, 1)},
                     {"header_timeout_ms", r.integer(l.header_timeout_ms, 1)},
                     {"idle_timeout_ms", r.integer(l.idle_timeout_ms, 1)},
                     {"body_timeout_ms", r.integer(l.body_timeout_ms, 1)},
                 })},
      {"upstream", r.fields({
                       {"connect_timeout_ms", r.integer(u.connect_timeout_ms, 1)},
                       {"response_timeout_ms", r.integer(u.response_timeout_ms, 1)},
                       {"pool_idle_timeout_ms", r.integer(u.pool_idle_timeout_ms, 1)},
                       {"pool_max_idle_per_host", r.integer(u.pool_max_idle_per_host)},
                       {"ca_file", r.text(u.ca_file, empty_or(readable_file))},
                       {"health_check_interval_ms", r.integer(u.health_check_interval_ms, 100, 3600000)},
                       {"sse_heartbeat_ms", r.integer(u.sse_heartbeat_ms, 100, 3600000)},  // invoke (issue 9)
                   })},
      {"drain_timeout_ms", r.integer(c.drain_timeout_ms, 1)},
      {"metrics_public", r.boolean(c.metrics_public)},
      {"trusted_proxies", r.strings(c.trusted_proxies, ip_or_cidr)},
      {"edge", edge_section(r, c.edge)},
      // issue 9: webhooks
      {"webhooks", r.fields({
                       {"allow_private_targets", r.boolean(c.webhooks.allow_private_targets)},
                       {"allow_http", r.boolean(c.webhooks.allow_http)},
                       {"max_attempts", r.integer(c.webhooks.max_attempts, 1, 100)},
                       {"backoff_initial_ms", r.integer(c.webhooks.backoff_initial_ms, 1, 3600000)},
                       {"backoff_max_ms", r.integer(c.webhooks.backoff_max_ms, 1, 86400000)},
                       {"timeout_ms", r.integer(c.webhooks.timeout_ms, 100, 120000)},
                       {"workers", r.integer(c.webhooks.workers, 1, 64)},
                       {"poll_interval_ms", r.integer(c.webhooks.poll_interval_ms, 10, 60000)},
                       {"delivered_retention_hours", r.integer(c.webhooks.delivered_retention_hours, 0, 24 * 365)},
                   })},
      // issue 9: jobs
      {"jobs", r.fields({
                   {"workers", r.integer(c.jobs.workers, 1, 256)},
                   {"timeout_ms", r.integer(c.jobs.timeout_ms, 1, 3600000)},
                   {"max_attempts", r.integer(c.jobs.max_attempts, 1, 100)},
                   {"backoff_initial_ms", r.integer(c.jobs.backoff_initial_ms, 1, 3600000)},
                   {"backoff_max_ms", r.integer(c.jobs.backoff_max_ms, 1, 86400000)},
                   {"lease_ms", r.integer(c.jobs.lease_ms, 1000, 3600000)},
                   {"poll_interval_ms", r.integer(c.jobs.poll_interval_ms, 10, 60000)},
               })},
      {"usage_plans", r.fields({
                          {"enabled", r.boolean(c.usage_plans.enabled)},
                          {"persist_interval_seconds", r.integer(c.usage_plans.persist_interval_seconds, 1, 3600)},
                          {"keep_days", r.integer(c.usage_plans.keep_days, 2, 3650)},
                          {"day_start_utc", r.text(c.usage_plans.day_start_utc, time_of_day)},
                      })},
  });
}

Handler issuer_item(Reader& r, IssuerConfig& c) {
  return r.fields({
      {"name", r.text(c.name, non_empty), kRequired},
      {"issuer", r.text(c.issuer, issuer_url), kRequired},
      {"discovery", r.boolean(c.discovery)},
      {"jwks_uri", r.text(c.jwks_uri, empty_or(fetch_url))},
      {"jwks_file", r.text(c.jwks_file, empty_or(readable_file))},
      {"audiences", r.strings(c.audiences, non_empty, kNonEmptyList), kRequired},
      {"allowed_clients", r.strings(c.allowed_clients, non_empty)},
      {"tenants", r.strings(c.tenants, non_empty)},
      {"algorithms", r.strings(c.algorithms, signing_algorithm, kNonEmptyList)},
      {"leeway_seconds", r.integer(c.leeway_seconds, 0, 300)},
      {"claims", r.fields({
                     {"tenant", r.text(c.claims.tenant, non_empty)},
                     {"app", r.text(c.claims.app, non_empty)},
                     {"roles", r.text(c.claims.roles, non_empty)},
                     {"email", r.text(c.claims.email, non_empty)},
                     {"name", r.text(c.claims.name, non_empty)},
                 })},
      {"jwks_cache", r.fields({
                         {"min_seconds", r.integer(c.jwks_cache.min_seconds, 1, 86400)},
                         {"max_seconds", r.integer(c.jwks_cache.max_seconds, 1, 7 * 86400)},
                         {"refetch_interval_seconds",
                          r.integer(c.jwks_cache.refetch_interval_seconds, 1, 3600)},
                     })},
  });
}

Handler tokens_section(Reader& r, TokensConfig& c) {
  return r.fields({
      {"issuer", r.text(c.issuer, empty_or(issuer_url))},
      {"audiences", r.strings(c.audiences, non_empty)},
      {"access_token_ttl_seconds", r.integer(c.access_token_ttl_seconds, 60, 3600)},
      {"leeway_seconds", r.integer(c.leeway_seconds, 0, 300)},
      {"cache_entries_per_thread", r.integer(c.cache_entries_per_thread, 16, 1u << 22)},
      // issue 9: identity. At most 7: the act chain of a token holds at most 8 actors.
      {"agent_call_max_depth", r.integer(c.agent_call_max_depth, 1, 7)},
  });
}

Handler tier_item(Reader& r, TierConfig& c) {
  return r.fields({
      {"rps", r.positive_number(c.rps), kRequired},
      {"burst", r.integer(c.burst, 1), kRequired},
      {"daily_quota", r.integer(c.daily_quota)},
      {"rank", r.integer(c.rank, 0, 1000000)},
      {"principal_rps", r.positive_number(c.principal_rps)},
      {"principal_burst", r.integer(c.principal_burst, 1)},
      {"max_concurrent", r.integer(c.max_concurrent)},
      {"daily_tool_calls", r.integer(c.daily_tool_calls)},
      {"suspend_after", r.integer(c.suspend_after)},
  });
}

Handler custom_redaction_item(Reader& r, CustomRedaction& c) {
  return r.fields({
      {"name", r.text(c.name, non_empty), kRequired},
      {"pattern", r.text(c.pattern, non_empty), kRequired},
  });
}

Handler mcp_policy_item(Reader& r, McpPolicyRule& c) {
  return r.fields({
      {"tenant", r.text(c.tenant)},
      {"server", r.text(c.server)},
      {"tool", r.text(c.tool)},
      {"roles", r.strings(c.roles, non_empty)},
      {"effect", r.text(c.effect, one_of({"allow", "deny"}))},
  });
}

Handler mcp_hook_item(Reader& r, McpHook& c) {
  return r.fields({
      {"name", r.text(c.name, non_empty), kRequired},
      {"url", r.text(c.url, url_scheme({"http://", "https://"})), kRequired},
      {"stage", r.text(c.stage, one_of({"request", "response"}))},
      {"timeout_ms", r.integer(c.timeout_ms, 1, 60000)},
      {"tenants", r.strings(c.tenants, non_empty)},
      {"servers", r.strings(c.servers, non_empty)},
  });
}

Handler mcp_section(Reader& r, McpConfig& c) {
  return r.fields({
      {"session_idle_seconds", r.integer(c.session_idle_seconds, 1, 7 * 24 * 3600)},
      {"call_timeout_ms", r.integer(c.call_timeout_ms, 1, 3600000)},
      {"list_timeout_ms", r.integer(c.list_timeout_ms, 1, 600000)},
      {"max_result_bytes", r.integer(c.max_result_bytes, 1024, std::size_t{64} << 20)},
      {"guardrail_deny", r.strings(c.guardrail_deny, non_empty)},
      {"policies", r.list<McpPolicyRule>(c.policies, [&r](auto& x) { return mcp_policy_item(r, x); })},
      {"hooks", r.list<McpHook>(c.hooks, [&r](auto& x) { return mcp_hook_item(r, x); })},
  });
}

// issue 11: a2a (each owner adds its fields below its marker)
Handler a2a_section(Reader& r, A2aConfig& c) {
  return r.fields({
      // ---- card
      {"card_refresh_seconds", r.integer(c.card_refresh_seconds, 1, 7 * 24 * 3600)},
      {"card_max_stale_seconds", r.integer(c.card_max_stale_seconds, 1, 30 * 24 * 3600)},
      // ---- proxy
      {"call_timeout_ms", r.integer(c.call_timeout_ms, 1, 3600000)},
      {"stream_idle_timeout_ms", r.integer(c.stream_idle_timeout_ms, 1000, 24 * 3600000)},
      {"max_answer_bytes", r.integer(c.max_answer_bytes, 1024, std::size_t{64} << 20)},
      {"record_capture_bytes", r.integer(c.record_capture_bytes, 0, std::size_t{16} << 20)},
      // ---- push
      {"push_max_configs_per_task", r.integer(c.push_max_configs_per_task, 1, 100)},
  });
}

Handler config_document(Reader& r, Config& c) {
  auto& rt = c.retention;
  return r.fields({
      {"data_dir", r.text(c.data_dir, non_empty)},
      {"server", server_section(r, c.server)},
      {"storage",
       r.fields({
           {"backend", r.text(c.storage.backend, one_of({"sqlite", "postgres"}))},
           {"sqlite", r.fields({{"path", r.text(c.storage.sqlite_path)}})},
           {"postgres", r.fields({{"url", r.secret(c.storage.postgres_url,
                                                   empty_or(url_scheme({"postgres://",
                                                                        "postgresql://"})))}})},
       })},
      {"cluster",
       r.fields({{"redis", r.fields({{"url", r.secret(c.cluster.redis_url,
                                                      empty_or(url_scheme(
                                                          {"redis://", "rediss://"})))},
                                     {"ca_file", r.text(c.cluster.redis_ca_file, empty_or(readable_file))}})}})},
      {"keys", r.fields({{"master_key_file", r.text(c.keys.master_key_file)}})},
      {"issuers", r.list<IssuerConfig>(c.issuers, [&r](auto& i) { return issuer_item(r, i); })},
      {"tokens", tokens_section(r, c.tokens)},
      {"tiers", r.named<TierConfig>(c.tiers, tier_name, [&r](auto& t) { return tier_item(r, t); })},
      {"retention", r.fields({
                        {"invocation_content_days", r.integer(rt.invocation_content_days, 1)},
                        {"audit_years", r.integer(rt.audit_years, 1)},
                        {"sessions_hours", r.integer(rt.sessions_hours, 1)},
                        {"tenant_purge_days", r.integer(rt.tenant_purge_days, 0)},
                        {"interval_minutes", r.integer(rt.interval_minutes, 1)},
                    })},
      {"redaction",
       r.fields({
           {"builtin", r.strings(c.redaction.builtin,
                                 one_of({"email", "phone", "credit_card", "iban", "us_ssn",
                                         "uk_nino", "aws_key", "jwt",
                                         // detectors added with the redactor
                                         "ip_address", "private_key", "api_key"}))},
           {"custom", r.list<CustomRedaction>(
                          c.redaction.custom,
                          [&r](auto& x) { return custom_redaction_item(r, x); })},
       })},
      {"mcp", mcp_section(r, c.mcp)},
      {"a2a", a2a_section(r, c.a2a)},
      {"log", r.fields({
                  {"level", r.text(c.log.level,
                                   one_of({"trace", "debug", "info", "warn", "error", "off"}))},
                  {"format", r.text(c.log.format, one_of({"json", "text"}))},
                  {"access", r.boolean(c.log.access)},
              })},
  });
}

// ---------------------------------------------------------------------------------------------
// Rules that involve more than one key, checked on the finished Config.

template <class T, class Name>
void check_unique_names(const std::vector<T>& items, const std::string& list_path, Name name,
                        Errors& errors) {
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& n = name(items[i]);
    if (n.empty()) continue;  // already reported as missing
    auto [it, inserted] = first.emplace(n, i);
    if (!inserted)
      errors.add(index_path(list_path, i) + ".name",
                 "duplicate name '" + n + "' (also " + index_path(list_path, it->second) + ")");
  }
}

// A built-in tier named in the file without a rank keeps its built-in place; any other tier
// must say where it stands (a tier that ranks nowhere would meet no tierMinimum at all).
void rank_tiers(Config& c, Errors& errors) {
  static const std::map<std::string, std::int64_t> builtin = {{"basic", 0}, {"standard", 1}, {"premium", 2}};
  for (auto& [name, t] : c.tiers) {
    if (t.rank >= 0) continue;
    if (auto it = builtin.find(name); it != builtin.end()) t.rank = it->second;
    else errors.add("tiers." + name + ".rank", "required for a tier other than basic, standard and premium");
  }
}

void check_cross_field(const Config& c, Errors& errors) {
  // a WAF rule must look at something, and names label metrics and logs.
  {
    std::set<std::string> names;
    for (std::size_t i = 0; i < c.server.edge.waf.size(); ++i) {
      const auto& w = c.server.edge.waf[i];
      const std::string at = "server.edge.waf[" + std::to_string(i) + "]";
      if (w.methods.empty() && w.path.empty() && w.query.empty() && w.header_name.empty() && w.body.empty())
        errors.add(at, "names none of methods, path, query, header, body");
      if (!w.name.empty() && !names.insert(w.name).second) errors.add(at + ".name", "duplicate rule name " + w.name);
    }
    if (c.server.edge.waf.size() > 256) errors.add("server.edge.waf", "at most 256 rules");
  }
  const auto& tls = c.server.tls;
  if (tls.cert_file.empty() && !tls.key_file.empty())
    errors.add("server.tls.cert_file", "required when server.tls.key_file is set");
  if (!tls.cert_file.empty() && tls.key_file.empty())
    errors.add("server.tls.key_file", "required when server.tls.cert_file is set");

  if (c.storage.backend == "postgres" && c.storage.postgres_url.empty())
    errors.add("storage.postgres.url", "required when storage.backend is postgres");

  for (std::size_t i = 0; i < c.issuers.size(); ++i) {
    const auto& is = c.issuers[i];
    const std::string at = index_path("issuers", i);
    if (!is.jwks_file.empty()) {
      if (!is.jwks_uri.empty())
        errors.add(at + ".jwks_file", "set either jwks_file or jwks_uri, not both");
      else if (is.discovery)
        errors.add(at + ".discovery", "must be false when jwks_file is set");
    } else if (!is.discovery && is.jwks_uri.empty()) {
      errors.add(at + ".jwks_uri", "required when discovery is false");
    }
    if (is.jwks_cache.min_seconds > is.jwks_cache.max_seconds)
      errors.add(at + ".jwks_cache.min_seconds", "must not exceed jwks_cache.max_seconds");
    if (is.issuer == c.token_issuer())
      errors.add(at + ".issuer", "is the built-in issuer's own identifier (tokens.issuer)");
  }

  check_unique_names(c.issuers, "issuers", [](const IssuerConfig& i) -> auto& { return i.name; },
                     errors);
  check_unique_names(c.redaction.custom, "redaction.custom",
                     [](const CustomRedaction& x) -> auto& { return x.name; }, errors);
  check_unique_names(c.mcp.hooks, "mcp.hooks", [](const McpHook& x) -> auto& { return x.name; }, errors);
}

std::string yaml_error_message(const YAML::Exception& e) {
  std::string message = "invalid YAML";
  if (!e.mark.is_null())
    message += " at line " + std::to_string(e.mark.line + 1) + ", column " +
               std::to_string(e.mark.column + 1);
  // yaml-cpp 0.7 words its nesting limit as "bad file", which sends people looking at the disk.
  bool too_deep = dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr;
  return message + ": " + (too_deep ? std::string("nesting is too deep") : e.msg);
}

// The documents in `text`, counted up to `limit`. Not YAML::LoadAll: on some malformed text
// (",s\n  l%sten:`\":0\"\nl;og:\n x") yaml-cpp 0.7 reports one more empty document on every
// call, so LoadAll never returns (found by fuzz/config_fuzz.cpp).
std::size_t count_documents(const std::string& text, std::size_t limit) {
  struct Ignore : YAML::EventHandler {
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } ignore;
  std::istringstream in(text);
  YAML::Parser parser(in);
  std::size_t n = 0;
  while (n < limit && parser.HandleNextDocument(ignore)) ++n;
  return n;
}

}  // namespace

ConfigResult parse_config(const std::string& yaml_text) {
  Errors errors;
  Config config;
  try {
    if (count_documents(yaml_text, 2) > 1) {
      errors.add("", "must contain a single YAML document");
    } else {
      Reader reader(errors);
      config_document(reader, config)(YAML::Load(yaml_text), "");  // an empty text: a null node
      rank_tiers(config, errors);
      check_cross_field(config, errors);
    }
  } catch (const YAML::Exception& e) {
    errors.add("", yaml_error_message(e));
  } catch (const std::exception& e) {
    errors.add("", std::string("cannot load the configuration: ") + e.what());
  }
  ConfigResult result;
  if (errors.empty()) result.config = std::move(config);
  result.errors = errors.take();
  return result;
}

ConfigResult load_config_file(const std::string& path) {
  std::string why;
  auto text = read_file(path, why);
  if (!text) {
    ConfigResult result;
    result.errors.push_back({"", "cannot read config file " + path + ": " + why});
    return result;
  }
  return parse_config(*text);
}

std::optional<std::int64_t> parse_time_of_day(std::string_view v) {
  auto two = [&](std::size_t at, int max) -> int {
    if (at + 2 > v.size() || v[at] < '0' || v[at] > '9' || v[at + 1] < '0' || v[at + 1] > '9') return -1;
    int n = (v[at] - '0') * 10 + (v[at + 1] - '0');
    return n <= max ? n : -1;
  };
  if (v.size() != 5 && v.size() != 8) return std::nullopt;
  const int h = two(0, 23), m = v[2] == ':' ? two(3, 59) : -1;
  const int s = v.size() == 8 ? (v[5] == ':' ? two(6, 59) : -1) : 0;
  if (h < 0 || m < 0 || s < 0) return std::nullopt;
  return h * 3600 + m * 60 + s;
}

std::vector<std::string> inactive_key_notices(const Config& c) {
  // `redaction` is read by the MCP response guards; no notice for it.
  // cluster.redis.url is read by the gateway (src/cluster/): no notice.
  (void)c;
  std::vector<std::string> out;
  return out;
}

}  // namespace pc::core
