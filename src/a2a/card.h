// The agent card the gateway serves (SPEC §5, docs/a2a-cards.md): the runtime's card rewritten,
// never passed through. Pure: no I/O, no clock.
//
//  - Whitelisted: only the members of the A2A AgentCard (1.0 proto JSON, or 0.3) are read, so a
//    runtime cannot slip anything else into what clients see.
//  - Every interface URL is the gateway's `<public base>/a2a/{agent}` (JSON-RPC and HTTP+JSON
//    share it); gRPC and unknown bindings are dropped (not proxied).
//  - The runtime's security schemes and requirements (card and skills) are replaced by the
//    gateway's: OAuth 2 client credentials at its token endpoint, and a bearer JWT.
//  - Skills are filtered per viewer (a SkillFilter decides).
//  - The runtime's signatures are dropped; the gateway adds its own (sign_card): an A2A 1.0
//    AgentCardSignature, a detached JWS (RFC 7515 App. F) over the RFC 8785 canonical form of the
//    card without `signatures` and without empty members (the normalisation every A2A SDK
//    verifier applies), ES256 with the gateway's active signing key, protected header
//    {alg, typ "JOSE", kid, jku = the gateway's JWKS}.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "a2a/card_cache.h"

namespace pc::jose {
class PrivateKey;
class JwkSet;
}  // namespace pc::jose

namespace pc::a2a {

// A card larger than this is refused (runtime answers and extended cards alike).
inline constexpr std::size_t kMaxCardBytes = 256u << 10;

// Which A2A version's card shape: 1.0 (supportedInterfaces, proto-JSON security schemes,
// securityRequirements) or 0.3 (url, preferredTransport, additionalInterfaces, OpenAPI-style
// security schemes, security).
enum class CardShape { v1_0, v0_3 };

// The gateway's parts of every card it serves.
struct GatewayCardContext {
  std::string agent_url;        // <public base>/a2a/{agent}
  std::string token_endpoint;   // <issuer>/oauth2/token
  std::string oauth_metadata;   // <issuer>/.well-known/oauth-authorization-server
  std::string jwks_url;         // <public base>/.well-known/jwks.json (the signature's jku)
};

// The names of the gateway's two security schemes in the cards it serves.
inline constexpr const char* kOAuthSchemeName = "portcullisOAuth2";
inline constexpr const char* kBearerSchemeName = "portcullisBearer";

// Strict, bounded parse (kMaxCardBytes, no duplicate names, valid UTF-8): the card object, or
// nullopt with `error` set (safe to log).
std::optional<boost::json::object> parse_card(std::string_view text, std::string& error);

// A 0.3 card (top-level url / preferredTransport / additionalInterfaces, or a 0.x
// protocolVersion, and no supportedInterfaces), as the SDK's own detection decides.
bool is_legacy_card(const boost::json::object& card);

// Where the runtime serves each binding: the paths of its card's interface URLs (their origin is
// ignored: the proxy always calls the registered origin). A 1.x interface is preferred to a 0.x
// one of the same binding. Both paths empty: the card offers nothing the gateway can proxy.
RuntimeInterfaces runtime_interfaces(const boost::json::object& card);

// true: the viewer may see the skill of this id.
using SkillFilter = std::function<bool(std::string_view skill_id)>;

// The card to serve, in `shape`, from a runtime card of either shape; unsigned (no `signatures`).
boost::json::object rewrite_card(const boost::json::object& runtime_card, const GatewayCardContext& gateway,
                                 CardShape shape, const SkillFilter& visible);

// The bytes a signature of `card` covers: JCS of the card without `signatures`, with every
// null, empty string, empty array and empty object removed (recursively, as the SDKs' verifiers
// normalise). Throws JcsError for text that is not valid UTF-8.
std::string card_signing_payload(const boost::json::object& card);

// Adds the gateway's AgentCardSignature to `card` (replacing any `signatures`). Throws
// jose::JoseError when the key cannot sign.
void sign_card(boost::json::object& card, const jose::PrivateKey& key, std::string_view jku);

// Checks the card's signatures against `keys` (what a client does with our JWKS; tests, and
// `docs/a2a-cards.md`'s recipe): nullopt when one signature verifies, else why none did. Only
// ES256 is accepted, with a kid that names a key of `keys`, typ present, no `crit`.
std::optional<std::string> verify_card_signature(const boost::json::object& card, const jose::JwkSet& keys);

}  // namespace pc::a2a
