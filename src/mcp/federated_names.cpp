#include "mcp/federated_names.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>

#include "core/base64url.h"

namespace pc::mcp {

namespace json = boost::json;

std::optional<OfferedName> split_prefixed(std::string_view exposed) {
  auto at = exposed.find(kNameSeparator);
  if (at == std::string_view::npos || at == 0 || at + kNameSeparator.size() >= exposed.size()) return std::nullopt;
  return OfferedName{std::string(exposed.substr(0, at)), std::string(exposed.substr(at + kNameSeparator.size()))};
}

std::vector<std::string> exposed_names(const std::vector<OfferedName>& items) {
  std::map<std::string_view, std::size_t> count;
  std::set<std::string_view> servers;
  for (const auto& it : items) {
    ++count[it.name];
    servers.insert(it.server);
  }
  std::vector<std::string> out;
  out.reserve(items.size());
  for (const auto& it : items) {
    bool clash = count[it.name] > 1;
    if (!clash) {
      if (auto p = split_prefixed(it.name); p && servers.count(p->server)) clash = true;
    }
    out.push_back(clash ? it.server + std::string(kNameSeparator) + it.name : it.name);
  }
  return out;
}

std::optional<std::size_t> resolve_exposed(std::string_view exposed, const std::vector<OfferedName>& items) {
  // Resolution is by construction: the name must be exactly what exposed_names shows for one
  // item. So a prefixed name always works, and a bare name only while it is unambiguous.
  auto names = exposed_names(items);
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] != exposed) continue;
    if (found) return std::nullopt;  // cannot happen (two servers offering one name twice): refuse
    found = i;
  }
  if (found) return found;
  // A prefixed call to a tool that is not clashing (so it is listed bare) works too.
  if (auto p = split_prefixed(exposed)) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].server != p->server || items[i].name != p->name) continue;
      if (found) return std::nullopt;  // a server listing the same name twice: ambiguous
      found = i;
    }
  }
  return found;
}

// ---- cursors

CursorCodec::CursorCodec(std::string key) : key_(std::move(key)) {
  if (key_.size() < 32) throw std::invalid_argument("cursor key: at least 32 bytes");
}

std::string CursorCodec::mac(std::string_view payload) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
            reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), out, &len))
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string CursorCodec::encode(const ListPosition& pos) const {
  json::object o;
  o["m"] = pos.method;
  o["s"] = pos.session;
  o["k"] = pos.server_key;
  o["i"] = static_cast<std::uint64_t>(pos.index);
  std::string payload = core::base64url_encode(json::serialize(o));
  return payload + "." + core::base64url_encode(mac(payload));
}

std::optional<ListPosition> CursorCodec::decode(std::string_view cursor, std::string_view method,
                                                std::string_view session) const {
  if (cursor.size() > 4096) return std::nullopt;
  auto dot = cursor.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto payload = cursor.substr(0, dot);
  auto tag = core::base64url_decode(cursor.substr(dot + 1));
  if (!tag) return std::nullopt;
  auto want = mac(payload);
  if (tag->size() != want.size() || CRYPTO_memcmp(tag->data(), want.data(), want.size()) != 0) return std::nullopt;
  auto text = core::base64url_decode(payload);
  if (!text) return std::nullopt;
  std::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto str = [&](const char* k) -> const json::string* {
    auto* f = o.if_contains(k);
    return f && f->is_string() ? &f->get_string() : nullptr;
  };
  auto *m = str("m"), *s = str("s"), *k = str("k");
  auto* i = o.if_contains("i");
  if (!m || !s || !k || !i || !(i->is_uint64() || i->is_int64())) return std::nullopt;
  if (*m != method || *s != session) return std::nullopt;
  std::int64_t idx = i->is_int64() ? i->get_int64() : static_cast<std::int64_t>(i->get_uint64());
  if (idx < 0) return std::nullopt;
  return ListPosition{std::string(*m), std::string(*s), std::string(*k), static_cast<std::size_t>(idx)};
}

}  // namespace pc::mcp
