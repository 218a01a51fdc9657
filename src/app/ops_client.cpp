#include "app/ops_client.h"

#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/base64url.h"
#include "core/clock.h"
#include "core/config.h"
#include "net/http_client.h"

namespace pc::app::ops {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxApiBody = 64u << 20;  // a page of 1000 audit events fits many times over
constexpr std::size_t kMaxTokenBody = 64u << 10;
constexpr const char* kUserAgent = "portcullis-ops/" PORTCULLIS_VERSION;

bool unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

std::string percent_encode(std::string_view s, bool space_as_plus) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (unreserved(c)) out += static_cast<char>(c);
    else if (c == ' ' && space_as_plus) out += '+';
    else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string base64_std(std::string_view bytes) {
  std::string s = core::base64url_encode(bytes);
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s += '=';
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string strip_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string string_or(const json::object& o, std::string_view key, std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  if (v && v->is_string()) return std::string(v->get_string());
  return fallback;
}

}  // namespace

std::optional<std::string> url_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
  for (char c : url.substr(0, scheme_end))
    if (!std::isalpha(static_cast<unsigned char>(c))) return std::nullopt;
  const auto auth_start = scheme_end + 3;
  const auto auth_end = url.find_first_of("/?#", auth_start);
  const auto origin = url.substr(0, auth_end);
  if (origin.size() == auth_start) return std::nullopt;  // "http://" with no host
  return std::string(origin);
}

std::string form_urlencode(std::string_view s) { return percent_encode(s, true); }
std::string path_segment(std::string_view s) { return percent_encode(s, false); }

std::string basic_authorization(std::string_view client_id, std::string_view client_secret) {
  return "Basic " + base64_std(form_urlencode(client_id) + ":" + form_urlencode(client_secret));
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out += out.empty() ? '?' : '&';
    out += percent_encode(k, false);
    out += '=';
    out += percent_encode(v, false);  // %XX for everything, so '+' and ':' reach the route intact
  }
  return out;
}

Credentials parse_credentials_file(std::string_view text, const std::string& origin) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) throw usage_error(origin + ": not a JSON object");
  const auto& o = v.get_object();
  Credentials c{string_or(o, "client_id"), string_or(o, "client_secret"), string_or(o, "token_url")};
  if (c.client_id.empty()) throw usage_error(origin + ": client_id is missing");
  if (c.client_secret.empty()) throw usage_error(origin + ": client_secret is missing");
  return c;
}

std::pair<Credentials, std::string> resolve_credentials(const CredentialSource& src) {
  Credentials c;
  if (!src.client_id.empty() || !src.client_secret.empty()) {
    if (src.client_id.empty()) throw usage_error("--client-secret needs --client-id");
    c.client_id = src.client_id;
    c.client_secret = src.client_secret;
    if (c.client_secret.empty()) {
      if (const char* env = std::getenv("PORTCULLIS_CLIENT_SECRET")) c.client_secret = env;
    }
    if (c.client_secret.empty()) throw usage_error("--client-id needs --client-secret (or $PORTCULLIS_CLIENT_SECRET)");
    if (!src.token_url.empty()) c.token_url = src.token_url;
    else if (!src.url.empty()) c.token_url = strip_trailing_slashes(src.url) + "/oauth2/token";
    else throw usage_error("--client-id needs --token-url or --url");
  } else {
    std::string file = src.credentials_file;
    if (file.empty()) {
      core::Config cfg;
      if (!src.config_path.empty()) {
        auto loaded = core::load_config_file(src.config_path);
        if (!loaded.errors.empty()) throw usage_error(loaded.errors.front().to_string());
        cfg = *loaded.config;
      }
      file = cfg.data_dir + "/bootstrap-admin.json";
    }
    std::string text;
    try {
      text = read_file(file);
    } catch (const Failure& e) {
      throw usage_error(std::string(e.what()) + " (pass --credentials FILE or --client-id/--client-secret)");
    }
    c = parse_credentials_file(text, file);
    if (!src.token_url.empty()) c.token_url = src.token_url;
    if (c.token_url.empty() && !src.url.empty()) c.token_url = strip_trailing_slashes(src.url) + "/oauth2/token";
    if (c.token_url.empty()) throw usage_error(file + ": token_url is missing (pass --token-url)");
  }
  std::string base;
  if (!src.url.empty()) {
    base = strip_trailing_slashes(src.url);
    if (!url_origin(base)) throw usage_error("--url: not an absolute http(s) URL: " + base);
  } else {
    auto origin = url_origin(c.token_url);
    if (!origin) throw usage_error("token_url is not an absolute URL: " + c.token_url);
    base = *origin;
  }
  return {std::move(c), std::move(base)};
}

std::optional<ApiErrorBody> parse_api_error(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* err = v.get_object().if_contains("error");
  if (!err || !err->is_object()) return std::nullopt;
  const auto& e = err->get_object();
  ApiErrorBody out{string_or(e, "code"), string_or(e, "message"), string_or(e, "requestId")};
  if (out.code.empty() && out.message.empty()) return std::nullopt;
  return out;
}

std::string format_api_error(int status, std::string_view body, std::string_view header_request_id,
                             std::string_view what) {
  const std::string rid = std::string(header_request_id);
  if (auto e = parse_api_error(body)) {
    std::string msg = e->message.empty() ? "HTTP " + std::to_string(status) : e->message;
    msg += " (" + (e->code.empty() ? "HTTP " + std::to_string(status) : e->code);
    const std::string& id = e->request_id.empty() ? rid : e->request_id;
    if (!id.empty()) msg += ", request " + id;
    return msg + ")";
  }
  std::string msg = "HTTP " + std::to_string(status) + " from " + std::string(what);
  if (!rid.empty()) msg += " (request " + rid + ")";
  return msg;
}

std::string resolve_time(std::string_view text, std::chrono::system_clock::time_point now) {
  static const std::regex kRfc3339(
      R"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2}))");
  const std::string s(text);
  if (std::regex_match(s, kRfc3339)) return s;
  if (s.size() >= 2) {
    const char unit = s.back();
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size() - 1, n);
    if (ec == std::errc() && end == s.data() + s.size() - 1 && n > 0 && n <= 36500 * 24 * 60) {
      std::int64_t seconds = 0;
      if (unit == 'm') seconds = n * 60;
      else if (unit == 'h') seconds = n * 3600;
      else if (unit == 'd') seconds = n * 86400;
      if (seconds > 0 && seconds <= std::int64_t{36500} * 86400)
        return core::rfc3339(now - std::chrono::seconds(seconds));
    }
  }
  throw usage_error("not a time: '" + s + "' (RFC 3339, e.g. 2026-01-31T00:00:00Z, or 30m, 24h, 7d ago)");
}

OpsClient::OpsClient(ClientSettings s) : s_(std::move(s)) {}

const std::string& OpsClient::token() {
  if (!token_.empty()) return token_;
  net::FetchOptions o;
  o.method = "POST";
  o.timeout = s_.timeout;
  o.ca_file = s_.ca_file;
  o.max_body_bytes = kMaxTokenBody;
  o.body = "grant_type=client_credentials";
  o.headers = {{"Authorization", basic_authorization(s_.credentials.client_id, s_.credentials.client_secret)},
               {"Content-Type", "application/x-www-form-urlencoded"},
               {"Accept", "application/json"},
               {"User-Agent", kUserAgent}};
  net::FetchResult r;
  try {
    r = net::fetch(s_.credentials.token_url, o);
  } catch (const net::FetchError& e) {
    throw run_error(std::string("token request failed: cannot reach the gateway: ") + e.what());
  }
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  const json::object* obj = !ec ? v.if_object() : nullptr;
  if (r.status != 200) {
    // RFC 6749 §5.2 {error, error_description}; never echo anything else of the answer.
    std::string why = obj ? string_or(*obj, "error") : "";
    const std::string desc = obj ? string_or(*obj, "error_description") : "";
    if (!desc.empty()) why += (why.empty() ? "" : ": ") + desc;
    if (why.empty()) why = "no OAuth error in the answer";
    throw run_error("token request failed: " + why + " (HTTP " + std::to_string(r.status) + " from " +
                    s_.credentials.token_url + ")");
  }
  const std::string tok = obj ? string_or(*obj, "access_token") : "";
  if (tok.empty()) throw run_error("token request failed: the answer has no access_token (" + s_.credentials.token_url + ")");
  token_ = tok;
  return token_;
}

Reply OpsClient::send(std::string_view method, const std::string& path, const std::string* json_body, bool raw,
                      std::size_t max_bytes, std::chrono::milliseconds timeout) {
  net::FetchOptions o;
  o.method = std::string(method);
  o.timeout = timeout;
  o.ca_file = s_.ca_file;
  o.max_body_bytes = max_bytes;
  o.headers = {{"Authorization", "Bearer " + token()},
               {"Accept", raw ? "application/x-ndjson, application/json" : "application/json"},
               {"User-Agent", kUserAgent}};
  if (json_body) {
    o.body = *json_body;
    o.headers.push_back({"Content-Type", "application/json"});
  }
  const std::string what = std::string(method) + " " + path;
  net::FetchResult r;
  try {
    r = net::fetch(s_.base_url + path, o);
  } catch (const net::FetchError& e) {
    throw run_error(std::string("cannot reach the gateway: ") + e.what());
  }
  if (r.status < 200 || r.status > 299) {
    const std::string* rid = r.header("X-Request-Id");
    const auto parsed = parse_api_error(r.body);
    throw ApiError(r.status, parsed ? parsed->code : "", format_api_error(r.status, r.body, rid ? *rid : "", what));
  }
  Reply out;
  out.status = r.status;
  out.body = std::move(r.body);
  if (!raw && !out.body.empty()) {
    json::error_code ec;
    out.json = json::parse(out.body, ec);
    if (ec) throw run_error("the gateway answered " + what + " with invalid JSON");
  }
  return out;
}

Reply OpsClient::call(std::string_view method, const std::string& path, const json::value* body) {
  std::string text;
  if (body) text = json::serialize(*body);
  return send(method, path, body ? &text : nullptr, false, kMaxApiBody, s_.timeout);
}

Reply OpsClient::call_raw(std::string_view method, const std::string& path, std::size_t max_bytes,
                          std::chrono::milliseconds timeout) {
  return send(method, path, nullptr, true, max_bytes, timeout);
}

}  // namespace pc::app::ops
