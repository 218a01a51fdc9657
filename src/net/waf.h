// WAF-lite (issue 12, area "edge"): rules from server.edge.waf matched against each request
// before it is routed. A rule names any of methods, a path pattern, a query pattern, a header
// (name and value pattern) and a body pattern; it matches when all it names match. Patterns are
// Hyperscan expressions (PCRE syntax without back-references and look-around), compiled once
// per configuration into one database per part, so a request is searched once per part whatever
// the number of rules. The path and query are searched percent-decoded (the query with '+' as a
// space), so "/%61dmin" cannot dodge a rule about "/admin"; when decoding fails the raw text is
// searched. Rules that need no body are decided before the body is read.
// Actions: `block` answers 403 request_blocked (the first blocking rule in configuration order
// decides); `log` counts portcullis_edge_waf_matches_total{rule,action} and logs a warn line
// (at most kLoggedPerWindow per rule every 10 s, then one line with the count), and the
// request goes on.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "net/http.h"

namespace pc::net {

class Waf {
 public:
  // Throws std::invalid_argument "server.edge.waf[2].path: <Hyperscan's reason>" for a pattern
  // Hyperscan refuses.
  explicit Waf(const std::vector<core::WafRule>& rules);
  ~Waf();
  Waf(const Waf&) = delete;
  Waf& operator=(const Waf&) = delete;

  bool empty() const { return rules_.empty(); }

  // What the head said, for the body's turn.
  struct Scan {
    std::vector<char> head_ok;  // per rule: every part but the body matched
    bool body_needed = false;   // some rule with a body pattern is still in play
  };
  // The blocking rule the head decides (nullptr: none); `log` rules that match are reported here.
  const core::WafRule* check_head(const Request& req, Scan& scan) const;
  // The blocking rule the body decides, for rules whose other parts matched. Call when
  // scan.body_needed, with the whole body read.
  const core::WafRule* check_body(const Request& req, Scan& scan) const;

  struct Impl;

 private:
  const core::WafRule* decide(const Request& req, const std::vector<char>& matched, bool body_phase) const;

  std::vector<core::WafRule> rules_;
  std::unique_ptr<Impl> impl_;
};

// The WAF rules' pattern errors as configuration errors (check-config, serve, reload).
std::vector<core::ConfigError> waf_config_errors(const core::Config& config);

}  // namespace pc::net
