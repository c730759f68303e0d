// The JSON media-type rule.

#include <gtest/gtest.h>

#include "api/http/content_type.hpp"

using namespace millrace::api::http;

TEST(content_type, json_variants) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON"));
  EXPECT_TRUE(is_json_content_type("application/json; charset=utf-8"));
  EXPECT_TRUE(is_json_content_type("application/json;charset=\"UTF-8\""));
  EXPECT_TRUE(is_json_content_type(" application/json ;"));
  EXPECT_FALSE(is_json_content_type("application/json; charset=latin1"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
  EXPECT_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
  EXPECT_FALSE(is_json_content_type("multipart/form-data; boundary=x"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_FALSE(is_json_content_type("application/json; garbage"));
}

TEST(content_type, which_requests_need_it) {
  std::string json = "application/json", text = "text/plain";
  EXPECT_FALSE(check_json_content_type("POST", true, &json));
  EXPECT_FALSE(check_json_content_type("GET", true, &text));
  EXPECT_FALSE(check_json_content_type("DELETE", true, nullptr));
  EXPECT_FALSE(check_json_content_type("POST", false, nullptr));
  auto e = check_json_content_type("PUT", true, &text);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 415);
  EXPECT_EQ(e->code, "unsupported_media_type");
  EXPECT_TRUE(check_json_content_type("PATCH", true, nullptr));
  request req;
  req.method = "POST";
  req.body = "{}";
  EXPECT_TRUE(check_json_content_type(req));
  req.headers.emplace_back("content-type", "application/json");
  EXPECT_FALSE(check_json_content_type(req));
}
