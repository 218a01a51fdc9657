#include "api/paging.h"

#include <gtest/gtest.h>

namespace pc::api {
namespace {

TEST(Paging, DefaultsWhenAbsent) {
  auto p = page_of("");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->limit, 100u);
  EXPECT_EQ(p->cursor, "");
}

TEST(Paging, ReadsLimitAndDecodedCursor) {
  auto p = page_of("x=1&limit=5&cursor=acme%2Dcorp");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->limit, 5u);
  EXPECT_EQ(p->cursor, "acme-corp");
  EXPECT_EQ(page_of("limit=1000")->limit, 1000u);
}

TEST(Paging, RefusesLimitsOutOfRangeOrNotNumbers) {
  for (const char* q : {"limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=5x", "limit=99999999999999999999"})
    EXPECT_FALSE(page_of(q)) << q;
}

TEST(Paging, QueryParamTakesTheFirstExactName) {
  EXPECT_EQ(query_param("climit=9&limit=3&limit=4", "limit"), "3");
  EXPECT_EQ(query_param("cursor=a+b", "cursor"), "a b");
  EXPECT_EQ(query_param("cursor=%zz", "cursor"), "");  // malformed escape reads as absent
  EXPECT_EQ(query_param("cursor", "cursor"), "");
}

}  // namespace
}  // namespace pc::api
