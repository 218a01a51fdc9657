// Running a Lua script kept in Redis's script cache: EVALSHA, and on NOSCRIPT (a fresh, restarted
// or SCRIPT FLUSHed server) the script once with EVAL, which caches it there again. Shared by the
// token leases (cluster/token_leases.h) and the quota counters (cluster/shared_quota.h).
#pragma once

#include <string>
#include <vector>

#include "cluster/redis_client.h"

namespace pc::cluster {

std::string sha1_hex(const std::string& text);  // lowercase hex, as SCRIPT LOAD answers

// `keys_and_args`: what follows the script in EVAL: numkeys, the keys, the arguments. `done` runs
// on the client's thread with the script's reply (or the failure). `script` and `sha1` must outlive
// the reply (statics).
void run_script(RedisClient& client, const std::string& script, const std::string& sha1,
                std::vector<std::string> keys_and_args, RedisClient::Done done);

}  // namespace pc::cluster
