#include "cluster/redis_url.h"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

#include <charconv>

namespace pc::cluster {
namespace {

bool parse_uint(std::string_view s, long max, long& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0 && out <= max;
}

}  // namespace

std::string RedisUrl::describe() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(tls ? "rediss://" : "redis://") + h + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::optional<RedisUrl> parse_redis_url(const std::string& text, std::string& error) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    error = "not a URL";
    return std::nullopt;
  }
  const auto& u = *parsed;
  RedisUrl r;
  if (u.scheme() == "rediss") r.tls = true;
  else if (u.scheme() != "redis") {
    error = "the scheme must be redis or rediss";
    return std::nullopt;
  }
  r.host = u.host_address();
  if (r.host.size() >= 2 && r.host.front() == '[') r.host = r.host.substr(1, r.host.size() - 2);
  if (r.host.empty()) {
    error = "no host";
    return std::nullopt;
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(r.host, ec);
  r.host_is_literal = !ec;
  if (u.has_port()) {
    long port = 0;
    if (!parse_uint(u.port(), 65535, port) || port == 0) {
      error = "the port must be 1-65535";
      return std::nullopt;
    }
    r.port = static_cast<unsigned short>(port);
  }
  if (u.has_userinfo()) {
    r.user = u.user();          // percent-decoded
    r.password = u.password();  // percent-decoded
    // redis://secret@host (no colon) is the password alone, as redis-cli -u reads it.
    if (!u.has_password()) std::swap(r.user, r.password);
  }
  std::string path = u.path();
  if (!path.empty() && path != "/") {
    long db = 0;
    if (!parse_uint(std::string_view(path).substr(1), 1 << 20, db)) {
      error = "the path must be a database number (/0)";
      return std::nullopt;
    }
    r.db = static_cast<int>(db);
  }
  return r;
}

std::vector<core::ConfigError> redis_config_errors(const core::Config& config) {
  if (config.cluster.redis_url.empty()) return {};
  std::string error;
  if (parse_redis_url(config.cluster.redis_url, error)) return {};
  return {{"cluster.redis.url", error}};  // never the URL itself: it may hold the password
}

}  // namespace pc::cluster
