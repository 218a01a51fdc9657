#include "agents/webhook_targets.h"

#include <netdb.h>
#include <sys/socket.h>

#include <boost/url/parse.hpp>
#include <cctype>
#include <memory>
#include <vector>

#include "net/address_policy.h"

namespace pc::agents {
namespace {

// Every address `host` resolves to, as text; empty when it does not resolve.
std::vector<std::string> resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return {};
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(res, freeaddrinfo);
  std::vector<std::string> out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0) out.push_back(text);
  }
  return out;
}

}  // namespace

std::optional<std::string> refuse_webhook_url(std::string_view url, const TargetRules& rules) {
  namespace urls = boost::urls;
  if (url.size() > kMaxWebhookUrlLength)
    return "url is longer than " + std::to_string(kMaxWebhookUrlLength) + " characters";
  auto parsed = urls::parse_absolute_uri(url);
  if (!parsed) return std::string("url is not an absolute URL");
  const urls::url_view& u = *parsed;
  if (u.scheme_id() == urls::scheme::http) {
    if (!rules.allow_http) return std::string("url must use https (plain http is not allowed by this gateway)");
  } else if (u.scheme_id() != urls::scheme::https) {
    return std::string("url must use https");
  }
  if (u.has_userinfo()) return std::string("url must not carry credentials");
  if (!u.has_authority() || u.encoded_host().empty()) return std::string("url has no host");

  std::vector<std::string> addresses;
  switch (u.host_type()) {
    case urls::host_type::ipv4:
      addresses.push_back(u.host_ipv4_address().to_string());
      break;
    case urls::host_type::ipv6:
      addresses.push_back(u.host_ipv6_address().to_string());
      break;
    case urls::host_type::name: {
      const std::string host(u.encoded_host());
      for (char c : host)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
          return std::string("url has an invalid host name");
      addresses = resolve(host);
      if (addresses.empty()) return std::string("the url's host does not resolve");
      break;
    }
    default:
      return std::string("url has no usable host");
  }
  if (rules.allow_private_targets) return std::nullopt;
  for (const auto& a : addresses)
    if (auto why = net::special_address(a))
      return "the url's host resolves to a " + std::string(*why) +
             " address; webhooks may only reach public addresses";
  return std::nullopt;
}

std::function<bool(std::string_view)> webhook_address_policy(const TargetRules& rules) {
  if (rules.allow_private_targets) return {};
  return [](std::string_view address) { return !net::special_address(address).has_value(); };
}

}  // namespace pc::agents
