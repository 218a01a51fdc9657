#include "net/http.h"

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

}  // namespace
}  // namespace pc::net
