#include "cluster/resp.h"

#include <hiredis/hiredis.h>

namespace pc::cluster {
namespace {

RespValue convert(const redisReply* r) {
  RespValue v;
  switch (r->type) {
    case REDIS_REPLY_STRING: v.type = RespValue::Type::string; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: v.type = RespValue::Type::status; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: v.type = RespValue::Type::error; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: v.type = RespValue::Type::integer; v.integer = r->integer; break;
    case REDIS_REPLY_ARRAY:
      v.type = RespValue::Type::array;
      v.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default: v.type = RespValue::Type::nil; break;
  }
  return v;
}

}  // namespace

void encode_command(std::string& out, const std::vector<std::string>& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

struct RespReader::Impl {
  redisReader* reader = redisReaderCreate();
  ~Impl() {
    if (reader) redisReaderFree(reader);
  }
};

RespReader::RespReader() : impl_(std::make_unique<Impl>()) {
  if (!impl_->reader) throw std::bad_alloc();
}
RespReader::~RespReader() = default;

bool RespReader::feed(const char* data, std::size_t n) {
  if (failed()) return false;
  // Bytes buffered and not yet taken out as replies. Our replies are small (a lease, a counter, a
  // change message); a peer announcing a huge bulk string and streaming it, or never finishing a
  // reply, must not grow this buffer without bound before the command timeout drops it.
  if (impl_->reader->len - impl_->reader->pos + n > kMaxBufferedBytes) {
    error_ = "a reply larger than " + std::to_string(kMaxBufferedBytes >> 20) + " MiB";
    return false;
  }
  if (redisReaderFeed(impl_->reader, data, n) != REDIS_OK) {
    error_ = impl_->reader->errstr[0] ? impl_->reader->errstr : "cannot buffer the reply";
    return false;
  }
  return true;
}

std::optional<RespValue> RespReader::next() {
  if (failed()) return std::nullopt;
  void* reply = nullptr;
  if (redisReaderGetReply(impl_->reader, &reply) != REDIS_OK) {
    error_ = impl_->reader->errstr[0] ? impl_->reader->errstr : "protocol error";
    return std::nullopt;
  }
  if (!reply) return std::nullopt;
  auto* r = static_cast<redisReply*>(reply);
  RespValue v = convert(r);
  freeReplyObject(r);
  return v;
}

}  // namespace pc::cluster
