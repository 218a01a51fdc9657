#include "api/refusals.h"

#include <algorithm>

#include "api/audit_trail.h"
#include "core/log.h"
#include "core/metrics.h"

namespace pc::api {
namespace {

core::CounterFamily& failures() {
  static core::CounterFamily& f = core::metrics().counter(
      "portcullis_auth_failures_total", "Requests refused by authentication or authorization, by reason", {"reason"});
  return f;
}

constexpr std::string_view kViolation = "security.tenant_access_violation";

std::string_view action_of(const net::Response& answer) {
  if (!answer.audit_action.empty()) return answer.audit_action;
  return answer.status == 401 ? "security.authentication_failed" : "security.access_denied";
}

}  // namespace

std::string client_network(std::string_view a) {
  if (a.find(':') == std::string_view::npos) {
    const auto last = a.rfind('.');
    if (last == std::string_view::npos || std::count(a.begin(), a.end(), '.') != 3) return std::string(a);
    return std::string(a.substr(0, last)) + ".0/24";
  }
  std::size_t pos = 0;
  for (int groups = 0; groups < 4; ++groups) {
    pos = a.find(':', pos);
    if (pos == std::string_view::npos || (pos + 1 < a.size() && a[pos + 1] == ':')) return std::string(a);  // "::" inside
    ++pos;
  }
  return std::string(a.substr(0, pos)) + ":/64";
}

RefusalRecorder::RefusalRecorder(const AuditTrail* trail, Options o) : trail_(trail), opts_(o) { failures(); }

void RefusalRecorder::refused(const net::Request& req, const auth::Principal* who, const net::Response& answer,
                              std::string_view reason, std::string_view detail) {
  failures().labels({std::string(reason)}).inc();  // exact, whatever is sampled below
  const std::string_view action = action_of(answer);
  const int kind = answer.status == 401 ? 0 : 1;
  const auto now = Clock::now();

  bool log_it = false, audit_it = false;
  {
    std::lock_guard lock(mu_);
    if (now >= window_end_) close_window_locked(now);
    log_it = logged_[kind] < opts_.logged_per_window;
    (log_it ? logged_[kind] : unlogged_[kind])++;
    if (action == kViolation) {
      audit_it = true;  // an isolation breach attempt is never folded into a count
    } else if (trail_) {
      std::string network = client_network(req.remote_address);
      std::string key;
      key.reserve(128);
      key.append(action).append("\n").append(reason).append("\n");
      if (who) key.append(who->tenant).append("\n").append(who->subject).append("\n");
      key.append(network);
      auto it = sources_.find(key);
      if (it == sources_.end()) {
        const bool overflow = sources_.size() >= opts_.max_sources;
        if (overflow) key = "*";  // one shared source once too many are tracked
        it = sources_.try_emplace(std::move(key)).first;
        Source& s = it->second;
        if (s.action.empty()) {
          s.action = action;
          s.reason = overflow ? "*" : std::string(reason);
          s.tenant = who && !overflow ? who->tenant : std::string(auth::kPlatformTenant);
          s.actor = who && !overflow ? who->subject : "anonymous";
          s.network = overflow ? "*" : std::move(network);
          s.route = overflow ? "*" : req.method + " " + std::string(req.route);
          s.status = answer.status;
        }
      }
      Source& s = it->second;
      // An authenticated caller is attributable and its refusals tell what it tried: more of
      // them are kept one by one than of anonymous ones.
      if (s.audited < (who ? opts_.audited_per_principal : opts_.audited_per_source)) {
        ++s.audited;
        audit_it = true;
      } else {
        if (s.summarized++ == 0) s.first_request_id = req.request_id;
        pending_.store(true, std::memory_order_relaxed);
      }
    }
    if (!log_it) pending_.store(true, std::memory_order_relaxed);
  }

  if (log_it) {
    log::warn(kind == 0 ? "authentication failed" : "access denied",
              {{"request_id", req.request_id},
               {"route", req.route},
               {"reason", reason},
               {"detail", detail},
               {"remote_address", req.remote_address},
               {"tenant", who ? std::string_view(who->tenant) : std::string_view()},
               {"subject", who ? std::string_view(who->subject) : std::string_view()}});
  }
  if (audit_it && trail_) trail_->refusal(req, who, answer);
}

void RefusalRecorder::tick() {
  if (!pending_.load(std::memory_order_relaxed)) return;
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  if (now >= window_end_) close_window_locked(now);
}

void RefusalRecorder::flush() {
  std::lock_guard lock(mu_);
  close_window_locked(Clock::now());
}

void RefusalRecorder::close_window_locked(Clock::time_point now) {
  for (int kind = 0; kind < 2; ++kind) {
    if (unlogged_[kind] > 0)
      log::warn(kind == 0 ? "authentication failures not logged one by one" : "access denials not logged one by one",
                {{"suppressed", std::to_string(unlogged_[kind])},
                 {"window_seconds", std::to_string(opts_.window.count() / 1000.0)}});
    logged_[kind] = unlogged_[kind] = 0;
  }
  if (trail_)
    for (const auto& [key, s] : sources_)
      if (s.summarized > 0)
        trail_->refusal_summary({s.action, s.tenant, s.actor, s.reason, s.network, s.route, s.first_request_id, s.status,
                                 s.summarized, opts_.window});
  sources_.clear();
  pending_.store(false, std::memory_order_relaxed);
  window_end_ = now + opts_.window;
}

}  // namespace pc::api
