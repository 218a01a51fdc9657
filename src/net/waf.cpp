#include "net/waf.h"

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>

#include <boost/json.hpp>

#include "core/log.h"
#include "core/metrics.h"
#include "core/percent.h"
#include "net/hyperscan_db.h"
#include "net/media_type.h"

namespace pc::net {
namespace {

constexpr std::uint64_t kLoggedPerWindow = 20;
constexpr std::chrono::seconds kLogWindow{10};

core::CounterFamily& waf_matches() {
  static core::CounterFamily& f = core::metrics().counter(
      "portcullis_edge_waf_matches_total", "Requests a WAF rule matched, by rule and action", {"rule", "action"});
  return f;
}

using Db = hyperscan::Database;

enum Part { kPath, kQuery, kHeader, kBody, kParts };
constexpr std::array<const char*, kParts> kPartNames = {"path", "query", "header.pattern", "body"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

struct Waf::Impl {
  Db path, query, body;
  std::vector<std::pair<std::string, std::unique_ptr<Db>>> headers;  // lower-case name → database
  hyperscan::Scratch scratch{"waf"};  // serves every database above
  // Bounded logging per rule.
  struct LogBudget {
    std::mutex mu;
    std::chrono::steady_clock::time_point window_end{};
    std::uint64_t logged = 0, suppressed = 0;
  };
  std::unique_ptr<LogBudget[]> logs;

  // Sets matched[rule] for every rule whose expression in `db` matches `text`.
  void scan(const Db& db, std::string_view text, std::vector<char>& matched) const {
    if (!db) return;
    auto on_match = [](unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) -> int {
      (*static_cast<std::vector<char>*>(ctx))[id] = 1;
      return 0;
    };
    if (hs_scan(db.get(), text.data(), static_cast<unsigned>(text.size()), 0, scratch.get(), on_match, &matched) !=
        HS_SUCCESS)
      throw std::runtime_error("waf: scan failed");
  }
};

namespace {

// Compiles the expressions of one part; `ids` names the rule index of each.
void compile(Db& out, const std::vector<std::string>& exprs, const std::vector<unsigned>& ids,
             const std::vector<unsigned>& flags, const std::string& part_name) {
  std::vector<const char*> cexprs;
  for (const auto& e : exprs) cexprs.push_back(e.c_str());
  try {
    out = Db::compile(cexprs, flags, ids);
  } catch (const hyperscan::CompileError& e) {
    std::string where = "server.edge.waf";
    if (e.expression() >= 0) where += "[" + std::to_string(ids[static_cast<std::size_t>(e.expression())]) + "]." + part_name;
    throw std::invalid_argument(where + ": " + e.what());
  }
}

}  // namespace

Waf::Waf(const std::vector<core::WafRule>& rules) : rules_(rules), impl_(std::make_unique<Impl>()) {
  struct Set {
    std::vector<std::string> exprs;
    std::vector<unsigned> ids, flags;
    void add(const std::string& e, unsigned id, bool caseless) {
      exprs.push_back(e);
      ids.push_back(id);
      flags.push_back(HS_FLAG_SINGLEMATCH | HS_FLAG_DOTALL | (caseless ? HS_FLAG_CASELESS : 0u));
    }
  } path, query, body;
  std::vector<std::pair<std::string, Set>> headers;
  for (unsigned i = 0; i < rules_.size(); ++i) {
    const auto& r = rules_[i];
    if (!r.path.empty()) path.add(r.path, i, r.caseless);
    if (!r.query.empty()) query.add(r.query, i, r.caseless);
    if (!r.body.empty()) body.add(r.body, i, r.caseless);
    if (!r.header_name.empty()) {
      const std::string name = lower(r.header_name);
      auto it = std::find_if(headers.begin(), headers.end(), [&](auto& h) { return h.first == name; });
      if (it == headers.end()) it = headers.insert(headers.end(), {name, Set{}});
      it->second.add(r.header_pattern, i, r.caseless);
    }
  }
  compile(impl_->path, path.exprs, path.ids, path.flags, kPartNames[kPath]);
  compile(impl_->query, query.exprs, query.ids, query.flags, kPartNames[kQuery]);
  compile(impl_->body, body.exprs, body.ids, body.flags, kPartNames[kBody]);
  for (auto& [name, set] : headers) {
    auto db = std::make_unique<Db>();
    compile(*db, set.exprs, set.ids, set.flags, kPartNames[kHeader]);
    impl_->headers.emplace_back(name, std::move(db));
  }
  // One scratch big enough for every database.
  impl_->scratch.serve(impl_->path);
  impl_->scratch.serve(impl_->query);
  impl_->scratch.serve(impl_->body);
  for (auto& h : impl_->headers) impl_->scratch.serve(*h.second);
  impl_->logs = std::make_unique<Impl::LogBudget[]>(rules_.size());
  for (const auto& r : rules_) waf_matches().labels({r.name, r.action});  // series exist from the start
}

Waf::~Waf() = default;

const core::WafRule* Waf::check_head(const Request& req, Scan& scan) const {
  scan.head_ok.assign(rules_.size(), 0);
  scan.body_needed = false;
  if (rules_.empty()) return nullptr;
  const std::size_t n = rules_.size();
  std::vector<char> path_m(n, 0), query_m(n, 0), header_m(n, 0);
  std::string decoded;
  if (impl_->path)
    impl_->scan(impl_->path, core::percent_decode(req.path, decoded, false) ? std::string_view(decoded) : req.path,
                path_m);
  if (impl_->query && !req.query.empty()) {
    decoded.clear();
    impl_->scan(impl_->query, core::percent_decode(req.query, decoded, true) ? std::string_view(decoded) : req.query,
                query_m);
  }
  for (const auto& h : req.headers)
    for (const auto& [name, db] : impl_->headers)
      if (iequals(h.name, name)) impl_->scan(*db, h.value, header_m);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& r = rules_[i];
    bool ok = true;
    if (!r.methods.empty())
      ok = std::find(r.methods.begin(), r.methods.end(), req.method) != r.methods.end();
    ok = ok && (r.path.empty() || path_m[i]) && (r.query.empty() || query_m[i]) &&
         (r.header_name.empty() || header_m[i]);
    scan.head_ok[i] = ok;
    if (ok && !r.body.empty()) scan.body_needed = true;
  }
  return decide(req, scan.head_ok, false);
}

namespace {

// Appends every string of a JSON value (object keys too), one per line.
void json_strings(const boost::json::value& v, std::string& out) {
  if (v.is_string()) {
    out.append(v.get_string()).push_back('\n');
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) json_strings(e, out);
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      out.append(kv.key()).push_back('\n');
      json_strings(kv.value(), out);
    }
  }
}

// The body as the handler will read it, when that differs from the raw bytes: the decoded
// strings of a JSON body (every handler parses JSON whatever the Content-Type says, so the
// bytes decide: an object, array or string), or the percent-decoded text of a form body. Empty
// when there is nothing more to scan (not JSON, malformed, or no strings). One parse of a body
// the size cap already bounds; the depth is bounded as the handlers bound it.
std::string decoded_body(const Request& req) {
  std::string out;
  if (has_media_type(req, "application/x-www-form-urlencoded")) {
    if (!core::percent_decode(req.body, out, true)) out.clear();
    return out;
  }
  const auto first = req.body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return out;
  const char c = req.body[first];
  if (c != '{' && c != '[' && c != '"') return out;
  boost::json::parse_options opts;
  opts.max_depth = 64;
  boost::system::error_code ec;
  const auto v = boost::json::parse(req.body, ec, {}, opts);
  if (!ec) json_strings(v, out);
  return out;
}

}  // namespace

const core::WafRule* Waf::check_body(const Request& req, Scan& scan) const {
  if (!scan.body_needed) return nullptr;
  std::vector<char> body_m(rules_.size(), 0);
  impl_->scan(impl_->body, req.body, body_m);
  // Escapes ("\/bin\/sh", "\u0073", "%2Fbin") must not dodge a rule about what they decode to.
  if (const std::string decoded = decoded_body(req); !decoded.empty()) impl_->scan(impl_->body, decoded, body_m);
  for (std::size_t i = 0; i < rules_.size(); ++i) body_m[i] = body_m[i] && scan.head_ok[i] && !rules_[i].body.empty();
  return decide(req, body_m, true);
}

// Reports every matching rule of this phase (rules with a body pattern belong to the body
// phase) and returns the first blocking one.
const core::WafRule* Waf::decide(const Request& req, const std::vector<char>& matched, bool body_phase) const {
  const core::WafRule* block = nullptr;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const auto& r = rules_[i];
    if (!matched[i] || r.body.empty() == body_phase) continue;
    waf_matches().labels({r.name, r.action}).inc();
    const bool blocks = r.action == "block";
    if (blocks && !block) block = &r;
    auto& lb = impl_->logs[i];
    bool log_it = false;
    std::uint64_t suppressed = 0;
    {
      std::lock_guard lock(lb.mu);
      const auto now = std::chrono::steady_clock::now();
      if (now >= lb.window_end) {
        suppressed = lb.suppressed;
        lb.logged = lb.suppressed = 0;
        lb.window_end = now + kLogWindow;
      }
      log_it = lb.logged < kLoggedPerWindow;
      (log_it ? lb.logged : lb.suppressed)++;
    }
    if (suppressed)
      log::warn("waf matches not logged one by one", {{"rule", r.name}, {"suppressed", std::to_string(suppressed)}});
    if (log_it)
      log::warn("waf rule matched", {{"request_id", req.request_id}, {"rule", r.name}, {"action", r.action},
                                     {"method", method_label(req.method)}, {"path", req.path},
                                     {"remote", req.remote_address}});
  }
  return block;
}

std::vector<core::ConfigError> waf_config_errors(const core::Config& config) {
  if (config.server.edge.waf.empty()) return {};
  try {
    Waf w(config.server.edge.waf);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    const auto colon = what.find(": ");
    if (colon == std::string::npos) return {{"server.edge.waf", what}};
    return {{what.substr(0, colon), what.substr(colon + 2)}};
  }
  return {};
}

}  // namespace pc::net
