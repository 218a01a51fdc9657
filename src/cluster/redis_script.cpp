#include "cluster/redis_script.h"

#include <openssl/evp.h>

namespace pc::cluster {

std::string sha1_hex(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

void run_script(RedisClient& client, const std::string& script, const std::string& sha1,
                std::vector<std::string> keys_and_args, RedisClient::Done done) {
  std::vector<std::string> args;
  args.reserve(keys_and_args.size() + 2);
  args.push_back("EVALSHA");
  args.push_back(sha1);
  for (auto& a : keys_and_args) args.push_back(std::move(a));
  client.command(args, [&client, &script, args, done = std::move(done)](RedisReply r) mutable {
    if (!r.failure.empty() || !r.value.is_error() || r.value.str.rfind("NOSCRIPT", 0) != 0) return done(std::move(r));
    args[0] = "EVAL";
    args[1] = script;
    client.command(std::move(args), std::move(done));
  });
}

}  // namespace pc::cluster
