// RESP (the Redis protocol): commands encoded as arrays of bulk strings, replies decoded by
// hiredis's redisReader (its parser, our socket: hiredis 0.14 has no TLS) into RespValue trees.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pc::cluster {

struct RespValue {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  std::string str;  // string, status, error
  std::int64_t integer = 0;
  std::vector<RespValue> elements;  // array

  bool is_error() const { return type == Type::error; }
  // "OK" for +OK, the bytes of a bulk string.
  bool is(std::string_view s) const { return (type == Type::string || type == Type::status) && str == s; }
};

// Appends `*N\r\n$len\r\narg\r\n...` (binary-safe).
void encode_command(std::string& out, const std::vector<std::string>& args);

// Feeds bytes in, takes whole replies out. A protocol error (garbage from the peer) is sticky:
// the connection must be dropped.
class RespReader {
 public:
  RespReader();
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  // Replies (or a reply's unfinished bytes) buffered past this are a protocol error.
  static constexpr std::size_t kMaxBufferedBytes = std::size_t{8} << 20;

  // false on a protocol error (error() says why), also when more than kMaxBufferedBytes wait.
  bool feed(const char* data, std::size_t n);
  // The next whole reply, nullopt when more bytes are needed or on a protocol error.
  std::optional<RespValue> next();
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

}  // namespace pc::cluster
