#include "cluster/resp.h"

#include <gtest/gtest.h>

namespace pc::cluster {
namespace {

TEST(Resp, EncodesBinarySafeBulkStrings) {
  std::string out;
  encode_command(out, {"SET", "k", std::string("a\r\n\0b", 5)});
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\n\0b\r\n", 31));
}

TEST(Resp, ReadsRepliesSplitAcrossReads) {
  RespReader r;
  const std::string bytes = "+OK\r\n:42\r\n$5\r\nhello\r\n$-1\r\n-ERR wrong\r\n*2\r\n$7\r\nmessage\r\n*1\r\n:7\r\n";
  std::vector<RespValue> got;
  for (char c : bytes) {  // one byte at a time: every boundary is a read boundary
    ASSERT_TRUE(r.feed(&c, 1));
    while (auto v = r.next()) got.push_back(*v);
  }
  ASSERT_EQ(got.size(), 6u);
  EXPECT_TRUE(got[0].is("OK"));
  EXPECT_EQ(got[0].type, RespValue::Type::status);
  EXPECT_EQ(got[1].type, RespValue::Type::integer);
  EXPECT_EQ(got[1].integer, 42);
  EXPECT_TRUE(got[2].is("hello"));
  EXPECT_EQ(got[3].type, RespValue::Type::nil);
  EXPECT_TRUE(got[4].is_error());
  EXPECT_EQ(got[4].str, "ERR wrong");
  ASSERT_EQ(got[5].elements.size(), 2u);
  EXPECT_TRUE(got[5].elements[0].is("message"));
  EXPECT_EQ(got[5].elements[1].elements.at(0).integer, 7);
}

TEST(Resp, GarbageIsAStickyProtocolError) {
  RespReader r;
  r.feed("?what\r\n", 7);
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.failed());
  EXPECT_FALSE(r.error().empty());
  EXPECT_FALSE(r.feed("+OK\r\n", 5));
  EXPECT_FALSE(r.next());
}

TEST(Resp, AHugeAnnouncedBulkIsRefusedOnceTheBufferPassesItsBound) {
  RespReader r;
  const std::string head = "$1000000000\r\n";  // announces ~1 GB, then streams it
  ASSERT_TRUE(r.feed(head.data(), head.size()));
  const std::string chunk(64 * 1024, 'x');
  std::size_t fed = head.size();
  while (r.feed(chunk.data(), chunk.size())) {
    EXPECT_FALSE(r.next());
    fed += chunk.size();
    ASSERT_LE(fed, RespReader::kMaxBufferedBytes) << "the reader kept buffering past its bound";
  }
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.error().find("larger than 8 MiB"), std::string::npos) << r.error();
}

TEST(Resp, ManySmallRepliesFedAndTakenOutNeverHitTheBound) {
  RespReader r;
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += ":12345\r\n";
  for (int round = 0; round < 2000; ++round) {  // ~16 MB in all, taken out as it comes
    ASSERT_TRUE(r.feed(batch.data(), batch.size())) << r.error();
    int n = 0;
    while (auto v = r.next()) ++n;
    ASSERT_EQ(n, 1000);
  }
}

}  // namespace
}  // namespace pc::cluster
