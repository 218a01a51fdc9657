// CardCache: one slot per agent (its card, the fetch in flight and who waits for it). Refresh is
// lazy: the first request after card_refresh_seconds starts a refetch and is answered with the
// cached card, so no request waits for a runtime while a fresh-enough card exists, and an agent
// nobody asks for costs nothing. Rendering (rewrite + sign) is cached per viewer-visible variant.
#include "a2a/card_cache.h"

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "a2a/card.h"
#include "a2a/jcs.h"
#include "agents/catalog.h"
#include "core/log.h"
#include "core/metrics.h"
#include "jose/sign.h"
#include "tenancy/capabilities.h"

namespace pc::a2a {
namespace json = boost::json;
namespace {

using Clock = std::chrono::system_clock;
using Done = std::function<void(std::shared_ptr<const CardEntry>, std::string)>;

constexpr const char* kCardPath = "/.well-known/agent-card.json";
constexpr const char* kLegacyCardPath = "/.well-known/agent.json";
constexpr std::size_t kMaxRendered = 1024;

core::CounterFamily& fetches() {
  static auto& f = core::metrics().counter("portcullis_a2a_card_fetches_total",
                                           "Agent card fetches from A2A runtimes, by outcome", {"outcome"});
  return f;
}

std::string origin_of(const agents::AgentEntry& a) {
  return a.scheme + "://" + (a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) + ":" +
         std::to_string(a.port);
}

struct Slot {
  std::string origin;
  std::shared_ptr<const CardEntry> entry;
  bool fetching = false;
  Clock::time_point last_attempt{};
  std::vector<Done> waiters;
};

class CardCacheImpl final : public CardCache, public std::enable_shared_from_this<CardCacheImpl> {
 public:
  explicit CardCacheImpl(CardCacheOptions o) : o_(std::move(o)) {
    refresh_.store(o_.refresh_seconds);
    max_stale_.store(o_.max_stale_seconds);
    if (!o_.fetch) o_.fetch = [](net::UpstreamCall c, std::function<void(net::UpstreamReply&&)> d) {
        net::call_upstream(std::move(c), std::move(d));
      };
    if (!o_.now) o_.now = [] { return Clock::now(); };
  }

  void set_limits(std::uint32_t refresh_seconds, std::uint32_t max_stale_seconds) override {
    refresh_.store(refresh_seconds);
    max_stale_.store(max_stale_seconds);
  }

  void get(const agents::AgentEntry& agent, Done done) override {
    const std::string origin = origin_of(agent);
    const auto now = o_.now();
    const auto refresh = std::chrono::seconds(refresh_.load());
    const auto max_stale = std::chrono::seconds(max_stale_.load());
    std::shared_ptr<const CardEntry> serve;
    std::string error;
    bool start = false, wait = false;
    {
      std::lock_guard lock(mu_);
      Slot& s = slots_[agent.name];
      if (s.origin != origin) {  // re-registered elsewhere: the old card says nothing about it
        s.origin = origin;
        s.entry.reset();
        s.last_attempt = {};
      }
      const bool may_start = !s.fetching && now - s.last_attempt >= o_.retry_after;
      if (s.entry) {
        const auto age = now - s.entry->fetched_at;
        if (age < refresh) {
          serve = s.entry;
        } else {
          start = may_start;
          if (age < max_stale) serve = s.entry;  // refreshed behind this answer
          else if (s.fetching || start) wait = true;
          else error = "card_stale";
        }
      } else {
        start = may_start;
        if (s.fetching || start) wait = true;
        else error = "card_unavailable";
      }
      if (wait) s.waiters.push_back(std::move(done));
      if (start) {
        s.fetching = true;
        s.last_attempt = now;
      }
    }
    if (start) fetch(agent, origin, kCardPath);
    if (!wait) done(std::move(serve), std::move(error));
  }

  std::string render(const agents::AgentEntry& agent, const CardEntry& entry, const CardViewer& viewer,
                     const json::object* extended) override {
    return render_shape(agent, entry, viewer, extended, CardShape::v1_0);
  }
  std::string render_v03(const agents::AgentEntry& agent, const CardEntry& entry, const CardViewer& viewer,
                         const json::object* extended) override {
    return render_shape(agent, entry, viewer, extended, CardShape::v0_3);
  }

 private:
  // GET <path> on the registered origin; the 1.0 path first (asking for the 1.0 card: an SDK
  // runtime with 0.3 compatibility answers a request without A2A-Version with its 0.3 card),
  // then the 0.3 path when the first answers no card.
  void fetch(const agents::AgentEntry& agent, const std::string& origin, const char* path) {
    net::UpstreamCall c;
    c.scheme = agent.scheme;
    c.host = agent.host;
    c.port = agent.port;
    c.method = "GET";
    c.target = path;
    c.ca_file = o_.ca_file;
    c.upstream_name = "a2a-card:" + agent.name;
    c.timeout = o_.fetch_timeout;
    c.max_body_bytes = kMaxCardBytes;
    c.headers.push_back({"Accept", "application/json"});
    if (std::string_view(path) == kCardPath) c.headers.push_back({"A2A-Version", "1.0"});
    std::weak_ptr<CardCacheImpl> self = weak_from_this();
    o_.fetch(std::move(c), [self, agent, origin, path](net::UpstreamReply&& r) {
      auto me = self.lock();
      if (!me) return;
      std::string why;
      if (!r.error.empty()) {
        why = r.error;
      } else if (r.status != 200) {
        why = "HTTP " + std::to_string(r.status);
      } else if (auto card = parse_card(r.body, why)) {
        auto e = std::make_shared<CardEntry>();
        e->interfaces = runtime_interfaces(*card);
        if (e->interfaces.jsonrpc_path.empty() && e->interfaces.rest_path.empty()) {
          why = "the card names no JSON-RPC or HTTP+JSON interface";
        } else {
          e->runtime_card = std::move(*card);
          e->fetched_at = me->o_.now();
          return me->finish(agent.name, origin, std::move(e), "");
        }
      }
      // An answer that is no card (404, not JSON, …): try the 0.3 path. A runtime that does not
      // answer at all is not asked twice.
      if (std::string_view(path) == kCardPath && r.error.empty()) return me->fetch(agent, origin, kLegacyCardPath);
      me->finish(agent.name, origin, nullptr, why);
    });
  }

  void finish(const std::string& agent, const std::string& origin, std::shared_ptr<const CardEntry> fresh,
              const std::string& why) {
    fetches().labels({fresh ? "ok" : "failed"}).inc();
    if (!fresh) log::warn("a2a: agent card fetch failed", {{"agent", agent}, {"reason", why}});
    std::vector<Done> waiters;
    std::shared_ptr<const CardEntry> serve;
    std::string error;
    {
      std::lock_guard lock(mu_);
      Slot& s = slots_[agent];
      if (s.origin != origin) return;  // re-registered while fetching: its own fetch answers
      s.fetching = false;
      if (fresh) s.entry = fresh;
      waiters.swap(s.waiters);
      if (s.entry && o_.now() - s.entry->fetched_at < std::chrono::seconds(max_stale_.load())) serve = s.entry;
      else error = s.entry ? "card_stale" : "card_unavailable";
    }
    for (auto& w : waiters) w(serve, error);
  }

  std::string render_shape(const agents::AgentEntry& agent, const CardEntry& entry, const CardViewer& viewer,
                           const json::object* extended, CardShape shape) {
    const json::object& source = extended ? *extended : entry.runtime_card;
    // Which skills this viewer sees: the cache key, with everything else the card depends on.
    std::string hidden;
    SkillFilter visible = [&](std::string_view id) {
      const bool show = skill_visible(agent.name, id, viewer);
      if (!show) hidden.append(id).push_back('\n');
      return show;
    };
    const std::string base = o_.base_url ? o_.base_url() : std::string();
    const std::string issuer = o_.issuer ? o_.issuer() : base;
    GatewayCardContext gw{base + "/a2a/" + agent.name, issuer + "/oauth2/token",
                          issuer + "/.well-known/oauth-authorization-server", issuer + "/.well-known/jwks.json"};
    auto card = rewrite_card(source, gw, shape, visible);
    auto key = o_.signing_key ? o_.signing_key() : nullptr;
    if (!key) throw std::runtime_error("no signing key to sign the agent card with");
    std::string cache_key;
    if (!extended) {
      cache_key = agent.name + '\0' + (shape == CardShape::v1_0 ? "1" : "0") + '\0' +
                  std::to_string(entry.fetched_at.time_since_epoch().count()) + '\0' + base + '\0' + issuer + '\0' +
                  key->kid() + '\0' + hidden;
      std::lock_guard lock(render_mu_);
      if (auto it = rendered_.find(cache_key); it != rendered_.end() && it->second.first == key) return it->second.second;
    }
    sign_card(card, *key, gw.jwks_url);
    std::string text = jcs(json::value(std::move(card)));
    if (!extended) {
      std::lock_guard lock(render_mu_);
      if (rendered_.size() >= kMaxRendered) rendered_.clear();
      rendered_[cache_key] = {key, text};
    }
    return text;
  }

  bool skill_visible(const std::string& agent, std::string_view id, const CardViewer& viewer) const {
    if (!o_.capabilities) return true;
    std::string name = "agents." + agent + ".skills." + std::string(id);
    // A skill id that cannot be part of a capability name cannot be restricted (documented).
    if (!tenancy::is_valid_capability_name(name)) return true;
    const auto d = o_.capabilities->evaluate(name, viewer.tenant, viewer.tier);
    return d.allowed || d.reason == "missing";
  }

  CardCacheOptions o_;
  std::atomic<std::uint32_t> refresh_{300}, max_stale_{3600};
  std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
  std::mutex render_mu_;
  std::unordered_map<std::string, std::pair<std::shared_ptr<const jose::PrivateKey>, std::string>> rendered_;
};

// The cache must outlive its fetches' callbacks: they hold it weakly, so it is made shared and
// handed out as a unique_ptr to a holder that owns the shared one.
class Holder final : public CardCache {
 public:
  explicit Holder(std::shared_ptr<CardCacheImpl> impl) : impl_(std::move(impl)) {}
  void get(const agents::AgentEntry& agent, Done done) override { impl_->get(agent, std::move(done)); }
  std::string render(const agents::AgentEntry& a, const CardEntry& e, const CardViewer& v,
                     const json::object* x) override {
    return impl_->render(a, e, v, x);
  }
  std::string render_v03(const agents::AgentEntry& a, const CardEntry& e, const CardViewer& v,
                         const json::object* x) override {
    return impl_->render_v03(a, e, v, x);
  }
  void set_limits(std::uint32_t r, std::uint32_t s) override { impl_->set_limits(r, s); }

 private:
  std::shared_ptr<CardCacheImpl> impl_;
};

}  // namespace

std::unique_ptr<CardCache> make_card_cache(CardCacheOptions options) {
  return std::make_unique<Holder>(std::make_shared<CardCacheImpl>(std::move(options)));
}

}  // namespace pc::a2a
