// Agent cards (SPEC §5, docs/a2a.md): each A2A agent's card is fetched from its runtime
// (`/.well-known/agent-card.json`, then the 0.3 `/.well-known/agent.json`), kept, refreshed in the
// background every `a2a.card_refresh_seconds`, and served stale for at most
// `a2a.card_max_stale_seconds` when the runtime stops answering; past that, an error.
//
// What the gateway serves is the runtime's card rewritten (a2a/card.h): every interface URL is the
// gateway's `/a2a/{agent}`, the security schemes are the gateway's (OAuth 2 client credentials
// at its token endpoint, bearer), the skills are filtered for the caller's tenant, and the card is
// signed with the gateway's key. The runtime's own interface paths are kept here (never served):
// they are where the proxy forwards, always on the registered endpoint's origin (a card cannot
// send the gateway elsewhere). Owner: "card".
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/upstream_call.h"

namespace pc::agents {
struct AgentEntry;
}
namespace pc::jose {
class PrivateKey;
}
namespace pc::tenancy {
class Capabilities;
}

namespace pc::a2a {

// Where the proxy calls the runtime: paths on the agent's registered origin (scheme, host, port
// from the registry). Empty path: the runtime's card does not offer that binding.
struct RuntimeInterfaces {
  std::string jsonrpc_path;      // e.g. "/a2a/jsonrpc"
  std::string rest_path;         // base of the REST binding, e.g. "/a2a/rest"
  std::string protocol_version;  // the card's (1.0 "1.0", 0.3 "0.3.0")
  bool streaming = false;        // capabilities.streaming
  bool push_notifications = false;
  bool extended_card = false;    // 1.0 capabilities.extendedAgentCard / 0.3 supportsAuthenticatedExtendedCard
};

struct CardEntry {
  boost::json::object runtime_card;  // as the runtime served it (never sent as is)
  RuntimeInterfaces interfaces;
  std::chrono::system_clock::time_point fetched_at;
};

// Who the card is rewritten for (skills filtered by what this tenant may use).
struct CardViewer {
  std::string tenant;
  std::string tier;
};

class CardCache {
 public:
  virtual ~CardCache() = default;
  // The agent's card, from the cache or fetched now (on the server's event loop via
  // net::call_upstream, never blocking). `done` runs once, on an I/O thread: the entry, or
  // nullptr with `error` ("card_unavailable": never fetched and the runtime does not answer or
  // answers no card; "card_stale": the last good card is older than card_max_stale_seconds).
  virtual void get(const agents::AgentEntry& agent,
                   std::function<void(std::shared_ptr<const CardEntry>, std::string error)> done) = 0;
  // The card to serve to `viewer` (a2a/card.h rewrite_card), as JSON text, signed.
  // `extended`: the runtime's authenticated extended card (from GetExtendedAgentCard), rewritten
  // the same way.
  virtual std::string render(const agents::AgentEntry& agent, const CardEntry& entry, const CardViewer& viewer,
                             const boost::json::object* extended = nullptr) = 0;

  // The same in the A2A 0.3 shape (url, preferredTransport, additionalInterfaces, security), for
  // 0.3 clients (GET …/.well-known/agent.json, agent-card.json without A2A-Version 1.x, 0.3
  // agent/getAuthenticatedExtendedCard, REST 0.3 GET /v1/card). Throws std::runtime_error when
  // there is no signing key yet (answer 503).
  virtual std::string render_v03(const agents::AgentEntry& agent, const CardEntry& entry, const CardViewer& viewer,
                                 const boost::json::object* extended = nullptr) = 0;
  // a2a.card_refresh_seconds / a2a.card_max_stale_seconds (start-up, reload).
  virtual void set_limits(std::uint32_t refresh_seconds, std::uint32_t max_stale_seconds) = 0;
};

// The implementation: make_card_cache(options).
struct CardCacheOptions {
  std::uint32_t refresh_seconds = 300;
  std::uint32_t max_stale_seconds = 3600;
  std::chrono::milliseconds fetch_timeout{10000};
  // After a failed fetch, the next one waits at least this long (a dead runtime is not hammered
  // by every card request); a cached card is served meanwhile if fresh enough.
  std::chrono::milliseconds retry_after{1000};
  std::string ca_file;                                  // server.upstream.ca_file
  std::function<std::string()> base_url;                // the gateway's public base URL
  std::function<std::string()> issuer;                  // the built-in issuer (token endpoint base)
  std::function<std::shared_ptr<const jose::PrivateKey>()> signing_key;  // nullptr: none yet
  // Skills: a capability `agents.<agent>.skills.<skill id>` that exists and denies the tenant
  // hides the skill (docs/a2a-cards.md). nullptr: every skill is shown.
  const tenancy::Capabilities* capabilities = nullptr;
  // Tests: replaces net::call_upstream, and the clock.
  std::function<void(net::UpstreamCall, std::function<void(net::UpstreamReply&&)>)> fetch;
  std::function<std::chrono::system_clock::time_point()> now;
};

std::unique_ptr<CardCache> make_card_cache(CardCacheOptions options);

}  // namespace pc::a2a
