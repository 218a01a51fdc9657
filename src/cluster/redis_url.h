// cluster.redis.url taken apart: redis://[[user]:password@]host[:port][/db] or rediss:// (TLS).
// The password never reaches a log line: describe() names the endpoint without it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace pc::cluster {

struct RedisUrl {
  bool tls = false;          // rediss://
  std::string host;          // bare (IPv6 without brackets)
  bool host_is_literal = false;  // an IP address: the TLS peer is checked by IP SAN, no SNI
  unsigned short port = 6379;
  std::string user;          // empty = AUTH with the password alone (the `default` user)
  std::string password;      // empty = no AUTH
  int db = 0;                // SELECT when not 0

  // "rediss://cache:6380/0" (no credentials): for logs and errors.
  std::string describe() const;
};

// nullopt with `error` set on a malformed URL (bad scheme, no host, bad port or db).
std::optional<RedisUrl> parse_redis_url(const std::string& text, std::string& error);

// the same parse at configuration time (check-config, serve, reload), so
// a URL the gateway would refuse at start is an error before anything starts or is written. The
// core layer checks only the scheme (it does not know this parser); the app runs this after it.
std::vector<core::ConfigError> redis_config_errors(const core::Config& config);

}  // namespace pc::cluster
