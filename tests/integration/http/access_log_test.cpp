// What reaches the access log.

#include <gtest/gtest.h>

#include "api/http/detail/access_log.hpp"

using namespace millrace::api::http::detail;

TEST(access_log, query_with_token_is_redacted) {
  EXPECT_EQ(loggable_target("/api/jobs?token=s3cret&x=1"), "/api/jobs?<redacted>");
  EXPECT_EQ(loggable_target("/api/jobs?x=1&access_token=s3cret"), "/api/jobs?<redacted>");
  EXPECT_EQ(loggable_target("/api/jobs?TOKEN=s3cret"), "/api/jobs?<redacted>");
  EXPECT_EQ(loggable_target("/api/jobs?x=1"), "/api/jobs?x=1");
  EXPECT_EQ(loggable_target("/api/jobs"), "/api/jobs");
}

TEST(access_log, control_characters_are_escaped) {
  EXPECT_EQ(loggable_target("/a\r\nb"), "/a\\x0d\\x0ab");
}

TEST(access_log, method_labels_are_bounded) {
  EXPECT_EQ(method_label("GET"), "GET");
  EXPECT_EQ(method_label("PATCH"), "PATCH");
  EXPECT_EQ(method_label("FOO"), "OTHER");
  EXPECT_EQ(method_label("get"), "OTHER");
}
