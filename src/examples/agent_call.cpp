#include "examples/agent_call.h"

#include <cctype>

#include "net/http_client.h"

namespace pc::examples {
namespace {

// application/x-www-form-urlencoded value (RFC 3986 unreserved kept, the rest %XX).
std::string form_encode(std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

boost::json::value body_of(const net::FetchResult& r) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec) return boost::json::value(r.body);
  return v;
}

net::FetchOptions options(const GatewayEndpoint& gw, std::string_view request_id) {
  net::FetchOptions o;
  // The callee may itself wait (delay knobs, its own calls): generous, but bounded.
  o.timeout = std::chrono::milliseconds(30000);
  o.max_body_bytes = 4 << 20;
  o.ca_file = gw.ca_file;
  o.method = "POST";
  if (!request_id.empty()) o.headers.push_back({"X-Request-Id", std::string(request_id)});
  return o;
}

bool valid_agent_name(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  for (unsigned char c : n)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

}  // namespace

boost::json::object call_agent(const GatewayEndpoint& gw, const std::string& identity_token, std::string_view agent,
                               const boost::json::value& input, std::string_view request_id) {
  boost::json::object out{{"agent", agent}};
  if (!valid_agent_name(agent)) {
    out["status"] = 0;
    out["error"] = "call.agent is not a valid agent name";
    return out;
  }
  try {
    net::FetchOptions ex = options(gw, request_id);
    ex.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    ex.body = "grant_type=" + form_encode("urn:ietf:params:oauth:grant-type:token-exchange") +
              "&subject_token=" + form_encode(identity_token) +
              "&subject_token_type=" + form_encode("urn:ietf:params:oauth:token-type:jwt");
    net::FetchResult t = net::fetch(gw.url + "/oauth2/token", ex);
    boost::json::value tb = body_of(t);
    const boost::json::value* at = tb.is_object() ? tb.as_object().if_contains("access_token") : nullptr;
    if (t.status != 200 || !at || !at->is_string()) {
      out["status"] = t.status;
      out["stage"] = "exchange";
      out["response"] = std::move(tb);
      return out;
    }
    net::FetchOptions inv = options(gw, request_id);
    inv.headers.push_back({"Content-Type", "application/json"});
    inv.headers.push_back({"Authorization", "Bearer " + std::string(at->get_string())});
    inv.body = boost::json::serialize(boost::json::object{{"input", input}});
    net::FetchResult r = net::fetch(gw.url + "/v1/agents/" + std::string(agent) + "/invoke", inv);
    out["status"] = r.status;
    out["response"] = body_of(r);
  } catch (const std::exception& e) {
    out["status"] = 0;
    out["error"] = e.what();
  }
  return out;
}

}  // namespace pc::examples
