#include "net/http.h"
#include "net/request_parse.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

namespace pc::net {
namespace {

TEST(ErrorBody, HasTheSpecShapeAndEscapes) {
  auto body = error_body("not_found", "no \"such\" thing\n", "req-1");
  auto v = boost::json::parse(body);
  const auto& e = v.at("error");
  EXPECT_EQ(e.at("code").as_string(), "not_found");
  EXPECT_EQ(e.at("message").as_string(), "no \"such\" thing\n");
  EXPECT_EQ(e.at("requestId").as_string(), "req-1");
  EXPECT_TRUE(e.at("details").as_array().empty());
  EXPECT_EQ(v.as_object().size(), 1u);
}

TEST(ErrorBody, InvalidUtf8StaysValidJson) {
  auto body = error_body("x", std::string("bad \xff\xfe bytes"), "id");
  EXPECT_NO_THROW(boost::json::parse(body));
}

TEST(ErrorResponse, CarriesStatusAndJsonType) {
  auto r = error_response(413, "body_too_large", "too big", "abc");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_FALSE(r.forward.has_value());
}

TEST(RequestId, ValidationRules) {
  EXPECT_TRUE(is_valid_request_id("abc-123_x.y:z"));
  EXPECT_TRUE(is_valid_request_id(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_request_id(""));
  EXPECT_FALSE(is_valid_request_id(std::string(129, 'a')));
  EXPECT_FALSE(is_valid_request_id("has space"));
  EXPECT_FALSE(is_valid_request_id("semi;colon"));
  EXPECT_FALSE(is_valid_request_id("new\nline"));
}

TEST(RequestId, GeneratedIdsAreUniqueHexAndValid) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    auto id = new_request_id();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_TRUE(is_valid_request_id(id));
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ASSERT_TRUE(seen.insert(id).second);
  }
}

TEST(Request, HeaderLookupIsCaseInsensitive) {
  Request r;
  r.headers = {{"Content-Type", "application/json"}, {"X-Thing", "1"}, {"x-thing", "2"}};
  ASSERT_NE(r.header("content-type"), nullptr);
  EXPECT_EQ(*r.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(*r.header("x-thing"), "1");
  EXPECT_EQ(r.header("missing"), nullptr);
}

TEST(Responder, AnswersOnceAndFallsBackTo500WhenDropped) {
  int calls = 0;
  int status = 0;
  {
    Responder r([&](Response&& res) {
      ++calls;
      status = res.status;
    });
    r(Response::json(201, "{}"));
    r(Response::json(202, "{}"));  // ignored
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status, 201);

  calls = 0;
  {
    Responder r([&](Response&& res) {
      ++calls;
      status = res.status;
    });
    Responder copy = r;  // copies share the state: no answer until the last one goes
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status, 500);
}


// ---- the request parser and its rules (net/request_parse.h: the connection's own parser)

core::LimitsConfig small_limits() {
  core::LimitsConfig l;
  l.max_header_bytes = 1024;
  l.max_body_bytes = 1024;
  return l;
}

ParsedRequest parse(std::string_view bytes) { return parse_request(bytes, small_limits()); }

TEST(ParseRequest, AWholeRequestAndWhereTheNextOneStarts) {
  const std::string first = "POST /x?a=1 HTTP/1.1\r\nHost: gw:8080\r\nContent-Length: 2\r\n\r\nhi";
  auto r = parse(first + "GET / HTTP/1.1\r\n");
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.request.method, "POST");
  EXPECT_EQ(r.request.path, "/x");
  EXPECT_EQ(r.request.query, "a=1");
  EXPECT_EQ(r.request.version, 11u);
  EXPECT_EQ(r.request.body, "hi");
  EXPECT_EQ(r.consumed, first.size());
}

// RFC 9112 §6.3: a Transfer-Encoding whose final coding is not chunked cannot frame a request.
// Beast reads such a request as bodiless, so its body would be parsed as a second request.
TEST(ParseRequest, TransferEncodingOtherThanExactlyChunkedIsRefused) {
  const std::string smuggled = "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const char* te : {"chunked, identity", "gzip", "xchunked", "identity", "gzip, chunked", "chunked, chunked"}) {
    auto r = parse(std::string("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") + te + "\r\n\r\n" + smuggled);
    EXPECT_EQ(r.status, 400) << te;
    EXPECT_EQ(r.code, "bad_request") << te;
    EXPECT_FALSE(r.complete) << te;
  }
  // Two lines, the last of them chunked: Beast frames by the last one alone.
  auto dup = parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled);
  EXPECT_EQ(dup.status, 400);
  // Transfer-Encoding with Content-Length, in either order.
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello").status, 400);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello").status, 400);
  // HTTP/1.0 has no transfer codings.
  EXPECT_EQ(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").status, 400);
  // The control: plain chunked, any case.
  auto ok = parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
  EXPECT_TRUE(ok.complete);
  EXPECT_EQ(ok.request.body, "hi");
}

TEST(ParseRequest, HostMustBeOneValidField) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n\r\n").status, 400);                          // missing
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n").status, 400);   // doubled
  for (const char* bad : {"a b", "a/b", "user@host", "host:port", "host:123456", ":80", "[::1", "[]", "h\"x"})
    EXPECT_EQ(parse(std::string("GET / HTTP/1.1\r\nHost: ") + bad + "\r\n\r\n").status, 400) << bad;
  for (const char* good : {"gw", "gw.example:8443", "127.0.0.1:80", "[::1]:8080", "xn--bcher-kva.example", ""})
    EXPECT_TRUE(parse(std::string("GET / HTTP/1.1\r\nHost: ") + good + "\r\n\r\n").complete) << good;
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\n\r\n").complete);  // HTTP/1.0 needs none
  EXPECT_EQ(parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
}

// 150 MB of trailers were accepted with max_body_bytes 1024: trailers and chunk extensions are
// bounded by the header limit.
TEST(ParseRequest, TrailersAndChunkExtensionsAreBoundedByTheHeaderLimit) {
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string trailers;
  while (trailers.size() < 4096) trailers += "X-T: " + std::string(100, 't') + "\r\n";
  auto big_trailers = parse(head + "2\r\nhi\r\n0\r\n" + trailers + "\r\n");
  EXPECT_EQ(big_trailers.status, 431);
  EXPECT_EQ(big_trailers.code, "headers_too_large");

  auto big_extension = parse(head + "2;x=" + std::string(4096, 'e') + "\r\nhi\r\n0\r\n\r\n");
  EXPECT_EQ(big_extension.status, 431);

  // Many chunks, each extension small, adding up beyond the limit.
  std::string chunks;
  for (int i = 0; i < 40; ++i) chunks += "1;e=" + std::string(40, 'e') + "\r\na\r\n";
  auto many = parse(head + chunks + "0\r\n\r\n");
  EXPECT_EQ(many.status, 431);

  auto small = parse(head + "2;x=1\r\nhi\r\n0\r\nX-T: v\r\n\r\n");
  ASSERT_TRUE(small.complete);
  EXPECT_EQ(small.request.body, "hi");
}

// RFC 9110 §6.5.1: trailer fields are not merged into the header section.
TEST(ParseRequest, TrailersNeverBecomeHeaders) {
  auto r = parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "2\r\nhi\r\n0\r\nAuthorization: Bearer smuggled\r\nHost: evil\r\n\r\n");
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.request.header("Authorization"), nullptr);
  ASSERT_NE(r.request.header("Host"), nullptr);
  EXPECT_EQ(*r.request.header("Host"), "x");
}

// Beast waits for a CRLF that a bare-LF chunk line never brings: refuse it at once.
TEST(ParseRequest, BareLineFeedInAChunkedBodyIsRefused) {
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const char* body : {"5\nhello\n0\n\n", "5\r\nhello\n", "5\r\nhello\r\n0\n", "0\r\nX-T: v\n"}) {
    auto r = parse(head + body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.code, "bad_request") << body;
  }
  // Incomplete but well-formed: not refused, just not complete yet.
  auto partial = parse(head + "5\r\nhel");
  EXPECT_EQ(partial.status, 0);
  EXPECT_FALSE(partial.complete);
}

TEST(MethodLabel, AFixedSetElseOther) {
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
    EXPECT_EQ(method_label(m), m);
  for (const char* m : {"get", "PROPFIND", "JUNK0001", "", "GETX"}) EXPECT_EQ(method_label(m), "other") << m;
}

}  // namespace
}  // namespace pc::net
