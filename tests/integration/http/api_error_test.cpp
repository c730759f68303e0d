// The error table and the error body.

#include <set>

#include <gtest/gtest.h>

#include "api/http/api_error.hpp"
#include "api/http/json.hpp"

using namespace millrace::api::http;

TEST(api_error, table_maps_codes_to_statuses) {
  EXPECT_EQ(status_of("not_found"), 404);
  EXPECT_EQ(status_of("method_not_allowed"), 405);
  EXPECT_EQ(status_of("request_timeout"), 408);
  EXPECT_EQ(status_of("payload_too_large"), 413);
  EXPECT_EQ(status_of("uri_too_long"), 414);
  EXPECT_EQ(status_of("unsupported_media_type"), 415);
  EXPECT_EQ(status_of("headers_too_large"), 431);
  EXPECT_EQ(status_of("bad_json"), 400);
  EXPECT_EQ(status_of("invalid_field"), 400);
  EXPECT_EQ(status_of("unauthorized"), 401);
  EXPECT_EQ(status_of("forbidden"), 403);
  EXPECT_EQ(status_of("conflict"), 409);
  EXPECT_EQ(status_of("overloaded"), 429);
  EXPECT_EQ(status_of("idempotency_conflict"), 422);
  EXPECT_EQ(status_of("wait_timeout"), 504);
  EXPECT_EQ(status_of("internal"), 500);
  EXPECT_EQ(status_of("no_such_code"), 500);
}

TEST(api_error, codes_are_unique_snake_case) {
  std::set<std::string_view> seen;
  for (auto& row : error_codes()) {
    EXPECT_TRUE(seen.insert(row.code).second) << row.code;
    for (char c : row.code)
      EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << row.code;
    EXPECT_FALSE(reason_phrase(row.status).empty()) << row.status;
  }
}

TEST(api_error, body_shape) {
  auto e = make_error(errc::invalid_field, "must be an \"integer\"", "/args/x");
  EXPECT_EQ(e.status, 400);
  auto r = to_response(e);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":"invalid_field","message":"must be an \"integer\"","field":"/args/x"})");
  auto parsed = parse_json_object(r.body);
  ASSERT_TRUE(parsed);
}

TEST(api_error, field_omitted_when_empty) {
  EXPECT_EQ(error_body(make_error(errc::not_found, "no such route")),
            R"({"error":"not_found","message":"no such route"})");
}

TEST(api_error, invalid_utf8_in_message_stays_valid_json) {
  auto body = error_body(make_error(errc::bad_request, "bad \xFF byte"));
  EXPECT_TRUE(parse_json_object(body)) << body;
}
