#include "a2a/card.h"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <utility>
#include <vector>

#include "a2a/jcs.h"
#include "core/base64url.h"
#include "jose/jwks.h"
#include "jose/jws.h"
#include "jose/sign.h"
#include "jose/verify.h"
#include "mcp/jsonrpc.h"

namespace pc::a2a {
namespace json = boost::json;
namespace {

// A string member by its proto-JSON (camelCase) name or its proto field (snake_case) name, as
// the SDKs read them; nullptr when absent or not a string.
const json::string* str(const json::object& o, std::string_view camel, std::string_view snake = {}) {
  if (auto* v = o.if_contains(camel); v && v->is_string()) return &v->get_string();
  if (!snake.empty())
    if (auto* v = o.if_contains(snake); v && v->is_string()) return &v->get_string();
  return nullptr;
}
const json::array* arr(const json::object& o, std::string_view camel, std::string_view snake = {}) {
  if (auto* v = o.if_contains(camel); v && v->is_array()) return &v->get_array();
  if (!snake.empty())
    if (auto* v = o.if_contains(snake); v && v->is_array()) return &v->get_array();
  return nullptr;
}
const json::object* obj(const json::object& o, std::string_view camel, std::string_view snake = {}) {
  if (auto* v = o.if_contains(camel); v && v->is_object()) return &v->get_object();
  if (!snake.empty())
    if (auto* v = o.if_contains(snake); v && v->is_object()) return &v->get_object();
  return nullptr;
}
std::optional<bool> boolean(const json::object& o, std::string_view camel, std::string_view snake = {}) {
  if (auto* v = o.if_contains(camel); v && v->is_bool()) return v->get_bool();
  if (!snake.empty())
    if (auto* v = o.if_contains(snake); v && v->is_bool()) return v->get_bool();
  return std::nullopt;
}
// Copies a non-empty string member.
void copy_str(json::object& out, const json::object& in, std::string_view camel, std::string_view snake = {}) {
  if (auto* s = str(in, camel, snake); s && !s->empty()) out[camel] = *s;
}
// Copies an array of strings (other elements dropped); absent when empty.
void copy_strings(json::object& out, const json::object& in, std::string_view camel, std::string_view snake = {}) {
  const json::array* a = arr(in, camel, snake);
  if (!a) return;
  json::array keep;
  for (const auto& e : *a)
    if (e.is_string()) keep.push_back(e);
  if (!keep.empty()) out[camel] = std::move(keep);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The bindings the gateway proxies, by their A2A names; "" for anything else (gRPC, unknown).
std::string binding_name(std::string_view b) {
  const std::string u = upper(b);
  if (u == "JSONRPC") return "JSONRPC";
  if (u == "HTTP+JSON") return "HTTP+JSON";
  return "";
}

struct Interface {
  std::string binding;  // "JSONRPC" or "HTTP+JSON"
  std::string version;  // "" when the card does not say
  std::string path;
};

std::optional<std::string> path_of(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return std::nullopt;
  std::string p(u->encoded_path());
  if (p.empty()) p = "/";
  return p;
}

// The runtime card's proxiable interfaces, in the card's order.
std::vector<Interface> interfaces_of(const json::object& card) {
  std::vector<Interface> out;
  auto add = [&out](std::string_view url, std::string_view binding, std::string_view version) {
    const std::string b = binding_name(binding);
    if (b.empty()) return;
    auto p = path_of(url);
    if (!p) return;
    out.push_back({b, std::string(version), std::move(*p)});
  };
  if (!is_legacy_card(card)) {
    if (const auto* list = arr(card, "supportedInterfaces", "supported_interfaces"))
      for (const auto& e : *list) {
        if (!e.is_object()) continue;
        const auto& i = e.get_object();
        const auto* url = str(i, "url");
        const auto* b = str(i, "protocolBinding", "protocol_binding");
        const auto* v = str(i, "protocolVersion", "protocol_version");
        if (url && b) add(*url, *b, v ? std::string_view(*v) : std::string_view());
      }
    return out;
  }
  const auto* pv = str(card, "protocolVersion");
  const std::string_view version = pv ? std::string_view(*pv) : std::string_view("0.3.0");
  if (const auto* url = str(card, "url")) {
    const auto* t = str(card, "preferredTransport");
    add(*url, t ? std::string_view(*t) : std::string_view("JSONRPC"), version);
  }
  if (const auto* list = arr(card, "additionalInterfaces"))
    for (const auto& e : *list) {
      if (!e.is_object()) continue;
      const auto* url = str(e.get_object(), "url");
      const auto* t = str(e.get_object(), "transport");
      if (url && t) add(*url, *t, version);
    }
  return out;
}

bool is_v1(std::string_view version) { return version.empty() || version.front() != '0'; }

json::array skills_of(const json::object& card, const SkillFilter& visible) {
  json::array out;
  const auto* list = arr(card, "skills");
  if (!list) return out;
  for (const auto& e : *list) {
    if (!e.is_object()) continue;
    const auto& s = e.get_object();
    const auto* id = str(s, "id");
    if (!id || id->empty()) continue;
    if (visible && !visible(*id)) continue;
    json::object k;
    k["id"] = *id;
    copy_str(k, s, "name");
    copy_str(k, s, "description");
    copy_strings(k, s, "tags");
    copy_strings(k, s, "examples");
    copy_strings(k, s, "inputModes", "input_modes");
    copy_strings(k, s, "outputModes", "output_modes");
    out.push_back(std::move(k));
  }
  return out;
}

json::array extensions_of(const json::object& caps) {
  json::array out;
  const auto* list = arr(caps, "extensions");
  if (!list) return out;
  for (const auto& e : *list) {
    if (!e.is_object()) continue;
    const auto& x = e.get_object();
    const auto* uri = str(x, "uri");
    if (!uri || uri->empty()) continue;
    json::object k;
    k["uri"] = *uri;
    copy_str(k, x, "description");
    if (boolean(x, "required").value_or(false)) k["required"] = true;  // false is the default: left out
    if (const auto* p = obj(x, "params")) k["params"] = *p;
    out.push_back(std::move(k));
  }
  return out;
}

void copy_common(json::object& out, const json::object& card) {
  out["name"] = str(card, "name") ? json::value(*str(card, "name")) : json::value("");
  out["description"] = str(card, "description") ? json::value(*str(card, "description")) : json::value("");
  out["version"] = str(card, "version") ? json::value(*str(card, "version")) : json::value("");
  if (const auto* p = obj(card, "provider")) {
    json::object prov;
    copy_str(prov, *p, "organization");
    copy_str(prov, *p, "url");
    if (!prov.empty()) out["provider"] = std::move(prov);
  }
  copy_str(out, card, "documentationUrl", "documentation_url");
  copy_str(out, card, "iconUrl", "icon_url");
  json::array in_modes, out_modes;
  if (const auto* a = arr(card, "defaultInputModes", "default_input_modes"))
    for (const auto& e : *a)
      if (e.is_string()) in_modes.push_back(e);
  if (const auto* a = arr(card, "defaultOutputModes", "default_output_modes"))
    for (const auto& e : *a)
      if (e.is_string()) out_modes.push_back(e);
  out["defaultInputModes"] = std::move(in_modes);
  out["defaultOutputModes"] = std::move(out_modes);
}

constexpr const char* kOAuthDescription = "Portcullis: OAuth 2.0 client credentials at the gateway's token endpoint";
constexpr const char* kBearerDescription = "Portcullis: an access token of the gateway (Authorization: Bearer)";

json::object card_v1(const json::object& card, const GatewayCardContext& gw, const SkillFilter& visible) {
  json::object out;
  copy_common(out, card);
  // One interface per (binding, version) the runtime offers, all at the gateway's URL.
  json::array ifaces;
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& i : interfaces_of(card)) {
    if (std::find(seen.begin(), seen.end(), std::make_pair(i.binding, i.version)) != seen.end()) continue;
    seen.emplace_back(i.binding, i.version);
    json::object o{{"url", gw.agent_url}, {"protocolBinding", i.binding}};
    if (!i.version.empty()) o["protocolVersion"] = i.version;
    ifaces.push_back(std::move(o));
  }
  out["supportedInterfaces"] = std::move(ifaces);
  json::object caps;
  const bool legacy = is_legacy_card(card);
  if (const auto* c = obj(card, "capabilities")) {
    if (auto b = boolean(*c, "streaming")) caps["streaming"] = *b;
    if (auto b = boolean(*c, "pushNotifications", "push_notifications")) caps["pushNotifications"] = *b;
    auto ext = extensions_of(*c);
    if (!ext.empty()) caps["extensions"] = std::move(ext);
    if (!legacy)
      if (auto b = boolean(*c, "extendedAgentCard", "extended_agent_card")) caps["extendedAgentCard"] = *b;
  }
  if (legacy)
    if (auto b = boolean(card, "supportsAuthenticatedExtendedCard")) caps["extendedAgentCard"] = *b;
  out["capabilities"] = std::move(caps);
  json::object client_credentials{{"tokenUrl", gw.token_endpoint}, {"scopes", json::object{}}};
  json::object oauth{{"description", kOAuthDescription},
                     {"flows", json::object{{"clientCredentials", std::move(client_credentials)}}}};
  if (!gw.oauth_metadata.empty()) oauth["oauth2MetadataUrl"] = gw.oauth_metadata;
  out["securitySchemes"] = json::object{
      {kOAuthSchemeName, json::object{{"oauth2SecurityScheme", std::move(oauth)}}},
      {kBearerSchemeName,
       json::object{{"httpAuthSecurityScheme",
                     json::object{{"description", kBearerDescription}, {"scheme", "Bearer"}, {"bearerFormat", "JWT"}}}}}};
  // Either scheme satisfies the card (a list of alternatives).
  out["securityRequirements"] = json::array{
      json::object{{"schemes", json::object{{kOAuthSchemeName, json::object{{"list", json::array{}}}}}}},
      json::object{{"schemes", json::object{{kBearerSchemeName, json::object{{"list", json::array{}}}}}}}};
  out["skills"] = skills_of(card, visible);
  return out;
}

json::object card_v03(const json::object& card, const GatewayCardContext& gw, const SkillFilter& visible) {
  json::object out;
  copy_common(out, card);
  bool jsonrpc = false, rest = false;
  for (const auto& i : interfaces_of(card)) (i.binding == "JSONRPC" ? jsonrpc : rest) = true;
  out["url"] = gw.agent_url;
  out["preferredTransport"] = jsonrpc || !rest ? "JSONRPC" : "HTTP+JSON";
  out["protocolVersion"] = "0.3.0";
  json::array additional;
  if (jsonrpc) additional.push_back(json::object{{"url", gw.agent_url}, {"transport", "JSONRPC"}});
  if (rest) additional.push_back(json::object{{"url", gw.agent_url}, {"transport", "HTTP+JSON"}});
  if (!additional.empty()) out["additionalInterfaces"] = std::move(additional);
  json::object caps;
  if (const auto* c = obj(card, "capabilities")) {
    if (auto b = boolean(*c, "streaming")) caps["streaming"] = *b;
    if (auto b = boolean(*c, "pushNotifications", "push_notifications")) caps["pushNotifications"] = *b;
    auto ext = extensions_of(*c);
    if (!ext.empty()) caps["extensions"] = std::move(ext);
    if (!is_legacy_card(card))
      if (auto b = boolean(*c, "extendedAgentCard", "extended_agent_card"))
        out["supportsAuthenticatedExtendedCard"] = *b;
  }
  if (is_legacy_card(card))
    if (auto b = boolean(card, "supportsAuthenticatedExtendedCard")) out["supportsAuthenticatedExtendedCard"] = *b;
  out["capabilities"] = std::move(caps);
  json::object oauth{{"type", "oauth2"},
                     {"description", kOAuthDescription},
                     {"flows", json::object{{"clientCredentials",
                                             json::object{{"tokenUrl", gw.token_endpoint}, {"scopes", json::object{}}}}}}};
  if (!gw.oauth_metadata.empty()) oauth["oauth2MetadataUrl"] = gw.oauth_metadata;
  out["securitySchemes"] = json::object{
      {kOAuthSchemeName, std::move(oauth)},
      {kBearerSchemeName,
       json::object{{"type", "http"}, {"description", kBearerDescription}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}};
  out["security"] = json::array{json::object{{kOAuthSchemeName, json::array{}}},
                                json::object{{kBearerSchemeName, json::array{}}}};
  out["skills"] = skills_of(card, visible);
  return out;
}

// Drops null, "", [], {} recursively (what the SDK verifiers' cleanEmpty does); nullopt when the
// value itself is empty.
std::optional<json::value> clean(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return std::nullopt;
    case json::kind::string:
      if (v.get_string().empty()) return std::nullopt;
      return v;
    case json::kind::array: {
      json::array out;
      for (const auto& e : v.get_array())
        if (auto c = clean(e)) out.push_back(std::move(*c));
      if (out.empty()) return std::nullopt;
      return json::value(std::move(out));
    }
    case json::kind::object: {
      json::object out;
      for (const auto& kv : v.get_object())
        if (auto c = clean(kv.value())) out[kv.key()] = std::move(*c);
      if (out.empty()) return std::nullopt;
      return json::value(std::move(out));
    }
    default: return v;
  }
}

}  // namespace

std::optional<json::object> parse_card(std::string_view text, std::string& error) {
  mcp::jsonrpc::Limits limits;
  limits.max_bytes = kMaxCardBytes;
  limits.max_depth = 32;
  limits.max_values = 1u << 15;
  auto v = mcp::jsonrpc::parse_bounded(text, limits, error);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    error = "the card is not a JSON object";
    return std::nullopt;
  }
  return std::move(v->get_object());
}

bool is_legacy_card(const json::object& card) {
  if (const auto* a = arr(card, "supportedInterfaces", "supported_interfaces"); a && !a->empty()) return false;
  if (str(card, "url") && !card.contains("supportedInterfaces")) return true;
  for (auto f : {"url", "preferredTransport", "additionalInterfaces", "supportsAuthenticatedExtendedCard", "security"})
    if (card.contains(f)) return true;
  if (const auto* v = str(card, "protocolVersion"); v && !v->empty() && v->front() == '0') return true;
  return false;
}

RuntimeInterfaces runtime_interfaces(const json::object& card) {
  RuntimeInterfaces r;
  const auto list = interfaces_of(card);
  auto pick = [&list](std::string_view binding) -> const Interface* {
    const Interface* any = nullptr;
    for (const auto& i : list) {
      if (i.binding != binding) continue;
      if (is_v1(i.version)) return &i;
      if (!any) any = &i;
    }
    return any;
  };
  const Interface* rpc = pick("JSONRPC");
  const Interface* rest = pick("HTTP+JSON");
  if (rpc) r.jsonrpc_path = rpc->path;
  if (rest) r.rest_path = rest->path;
  const Interface* first = rpc ? rpc : rest;
  if (first) r.protocol_version = first->version.empty() ? (is_legacy_card(card) ? "0.3.0" : "1.0") : first->version;
  if (const auto* c = obj(card, "capabilities")) {
    r.streaming = boolean(*c, "streaming").value_or(false);
    r.push_notifications = boolean(*c, "pushNotifications", "push_notifications").value_or(false);
    r.extended_card = boolean(*c, "extendedAgentCard", "extended_agent_card").value_or(false);
  }
  if (auto b = boolean(card, "supportsAuthenticatedExtendedCard")) r.extended_card = r.extended_card || *b;
  return r;
}

json::object rewrite_card(const json::object& runtime_card, const GatewayCardContext& gateway, CardShape shape,
                          const SkillFilter& visible) {
  return shape == CardShape::v1_0 ? card_v1(runtime_card, gateway, visible) : card_v03(runtime_card, gateway, visible);
}

std::string card_signing_payload(const json::object& card) {
  json::object copy = card;
  copy.erase("signatures");
  auto cleaned = clean(json::value(std::move(copy)));
  return cleaned ? jcs(*cleaned) : std::string("{}");
}

void sign_card(json::object& card, const jose::PrivateKey& key, std::string_view jku) {
  card.erase("signatures");
  json::object header{{"alg", std::string(jose::alg_name(key.alg()))}, {"typ", "JOSE"}};
  if (!key.kid().empty()) header["kid"] = key.kid();
  if (!jku.empty()) header["jku"] = jku;
  const std::string protected_b64 = core::base64url_encode(jcs(header));
  const std::string input = protected_b64 + "." + core::base64url_encode(card_signing_payload(card));
  const std::string sig = key.sign(key.alg(), input);
  card["signatures"] = json::array{json::object{{"protected", protected_b64}, {"signature", core::base64url_encode(sig)}}};
}

std::optional<std::string> verify_card_signature(const json::object& card, const jose::JwkSet& keys) {
  const auto* sigs = arr(card, "signatures");
  if (!sigs || sigs->empty()) return "the card has no signatures";
  std::string payload;
  try {
    payload = core::base64url_encode(card_signing_payload(card));
  } catch (const JcsError& e) {
    return std::string("the card has no canonical form: ") + e.what();
  }
  std::string why = "no signature verified";
  for (const auto& e : *sigs) {
    if (!e.is_object()) {
      why = "a signature is not an object";
      continue;
    }
    const auto* prot = str(e.get_object(), "protected");
    const auto* sig = str(e.get_object(), "signature");
    if (!prot || !sig) {
      why = "a signature lacks protected or signature";
      continue;
    }
    auto header_text = core::base64url_decode(*prot);
    auto sig_bytes = core::base64url_decode(*sig);
    if (!header_text || !sig_bytes) {
      why = "a signature is not base64url";
      continue;
    }
    json::object header;
    try {
      header = jose::parse_json_object_strict(*header_text);
    } catch (const std::exception&) {
      why = "a protected header is not a JSON object";
      continue;
    }
    const auto* alg = str(header, "alg");
    const auto* kid = str(header, "kid");
    if (!alg || *alg != "ES256") {
      why = "a signature's alg is not ES256";
      continue;
    }
    if (!kid || !str(header, "typ")) {
      why = "a protected header lacks kid or typ";
      continue;
    }
    if (header.contains("crit") || header.contains("b64")) {
      why = "a protected header has crit or b64";
      continue;
    }
    const std::string input = std::string(*prot) + "." + payload;
    bool any = false;
    for (const auto* k : keys.find(*kid)) {
      any = true;
      if (jose::key_fits(*k, jose::Alg::ES256) && jose::verify(*k, jose::Alg::ES256, input, *sig_bytes)) return std::nullopt;
    }
    why = any ? "a signature does not verify" : "a signature names a key the JWKS does not hold";
  }
  return why;
}

}  // namespace pc::a2a
