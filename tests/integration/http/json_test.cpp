// Strict JSON bodies: RELIABILITY.md 5(b), "JSON bodies", plus the cases of
// JSONTestSuite that parsers disagree on.

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "api/http/json.hpp"

using namespace millrace::api::http;

namespace {

/// The error message, or "" if it parsed.
std::string problem(std::string_view text) {
  auto r = parse_json_object(text);
  if (r)
    return "";
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().code, "bad_json");
  return r.error().message;
}

void expect_rejected(std::string_view text, std::string_view needle) {
  auto msg = problem(text);
  ASSERT_FALSE(msg.empty()) << "accepted: " << text;
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
  EXPECT_NE(msg.find("at byte "), std::string::npos) << "message: " << msg;
}

} // namespace

TEST(json, accepts_an_object) {
  auto r = parse_json_object(R"( {"a": 1, "b": [true, null, "x\u00e9\ud83d\ude00"], "c": {"d": -2.5e3}} )");
  ASSERT_TRUE(r) << r.error().message;
  auto& root = r->root();
  ASSERT_TRUE(root.IsObject());
  EXPECT_EQ(root["a"].GetInt(), 1);
  EXPECT_STREQ(root["b"][2].GetString(), "x\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_DOUBLE_EQ(root["c"]["d"].GetDouble(), -2500.0);
}

TEST(json, document_survives_a_move) {
  auto r = parse_json_object(R"({"k":"v"})"); // short: would sit in a std::string's SSO buffer
  ASSERT_TRUE(r);
  json_body moved = std::move(*r);
  EXPECT_STREQ(moved.root()["k"].GetString(), "v");
}

TEST(json, truncated) {
  expect_rejected(R"({"a": 1)", "truncated");
  expect_rejected(R"({"a": "x)", "truncated");
  expect_rejected(R"({"a":)", "truncated");
}

TEST(json, trailing_garbage) {
  expect_rejected(R"({"a":1}x)", "after the JSON value");
  expect_rejected(R"({"a":1}{"b":2})", "after the JSON value");
  auto msg = problem(R"({"a":1}x)");
  EXPECT_NE(msg.find("byte 7"), std::string::npos) << msg;
}

TEST(json, comments) {
  expect_rejected("{\"a\":1 /* c */}", "comments");
  expect_rejected("{/* c */\"a\":1}", "comments");
  expect_rejected("{\"a\": // c\n 1}", "comments");
}

TEST(json, trailing_commas) {
  expect_rejected(R"({"a":1,})", "trailing comma");
  expect_rejected(R"({"a":[1,2,]})", "trailing comma");
}

TEST(json, single_quotes) {
  expect_rejected(R"({'a':1})", "single quotes");
  expect_rejected(R"({"a":'x'})", "single quotes");
}

TEST(json, duplicate_keys) {
  expect_rejected(R"({"a":1,"a":2})", "duplicate key \"a\"");
  expect_rejected(R"({"x":{"y":{"a":1,"b":2,"a":3}}})", "duplicate key \"a\"");
  expect_rejected(R"({"x":[{"a":1},{"b":1,"b":1}]})", "duplicate key \"b\"");
  // The same key after decoding escapes.
  expect_rejected(R"({"a":1,"\u0061":2})", "duplicate key");
  auto msg = problem(R"({"a":1,"a":2})");
  EXPECT_NE(msg.find("byte 8"), std::string::npos) << msg;
}

TEST(json, duplicate_keys_in_a_large_object) {
  std::string text = "{";
  for (int i = 0; i < 20000; ++i)
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  text += "\"k12345\":0}";
  expect_rejected(text, "duplicate key \"k12345\"");
}

TEST(json, same_key_in_sibling_objects_is_fine) {
  EXPECT_EQ(problem(R"({"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]})"), "");
}

TEST(json, nesting_limit) {
  std::string ok = R"({"a":)" + std::string(62, '[') + std::string(62, ']') + "}";
  EXPECT_EQ(problem(ok), ""); // depth 63
  std::string at_limit = R"({"a":)" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_EQ(problem(at_limit), ""); // depth 64
  std::string over = R"({"a":)" + std::string(64, '[') + std::string(64, ']') + "}";
  expect_rejected(over, "nesting deeper than 64");
}

TEST(json, nesting_ten_thousand_deep_does_not_overflow_the_stack) {
  std::string deep = "{\"a\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
  expect_rejected(deep, "nesting deeper than 64");
  std::string objects;
  for (int i = 0; i < 10000; ++i)
    objects += "{\"a\":";
  objects += "1" + std::string(10000, '}');
  expect_rejected(objects, "nesting deeper");
}

TEST(json, nan_and_infinity) {
  expect_rejected(R"({"a":NaN})", "NaN and Infinity");
  expect_rejected(R"({"a":Infinity})", "NaN and Infinity");
  expect_rejected(R"({"a":-Infinity})", "NaN and Infinity");
}

TEST(json, numbers_beyond_a_double) {
  expect_rejected(R"({"a":1e999})", "out of range");
  expect_rejected(R"({"a":-1e999})", "out of range");
  expect_rejected(R"({"a":9e308})", "out of range");
  expect_rejected(R"({"a":)" + std::string(400, '9') + "}", "out of range");
  EXPECT_EQ(problem(R"({"a":1e-999, "b":1.7976931348623157e308})"), ""); // underflow is 0
}

TEST(json, bad_numbers) {
  for (auto text : {R"({"a":01})", R"({"a":1.})", R"({"a":.5})", R"({"a":+1})", R"({"a":1e})",
                    R"({"a":0x10})", R"({"a":-})"})
    EXPECT_NE(problem(text), "") << text;
}

TEST(json, big_integers_parse_as_numbers) {
  // Range checks for ids happen in json_fields; the parser keeps the value.
  auto r = parse_json_object(R"({"id":9007199254740993,"big":123456789012345678901234567890})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->root()["id"].IsUint64());
  EXPECT_TRUE(r->root()["big"].IsDouble());
}

TEST(json, lone_surrogates) {
  expect_rejected(R"({"a":"\ud800"})", "surrogate");
  expect_rejected(R"({"a":"\ud800x"})", "surrogate");
  expect_rejected(R"({"a":"\ud800\u0041"})", "surrogate");
  expect_rejected(R"({"a":"\udc00"})", "UTF-8"); // low surrogate alone
  expect_rejected(R"({"\udfff":1})", "UTF-8");
}

TEST(json, raw_control_characters) {
  expect_rejected("{\"a\":\"x\ty\"}", "control character");
  expect_rejected("{\"a\":\"x\ny\"}", "control character");
  expect_rejected("{\"a\":\"\x01\"}", "control character");
  EXPECT_EQ(problem("{\"a\":\"x\\ty\\n\"}\n"), "");
}

TEST(json, nul) {
  expect_rejected(std::string_view{"{\"a\":1}\0x", 9}, "NUL byte");
  expect_rejected(std::string_view{"{\"a\":\"\0\"}", 9}, "NUL byte");
  expect_rejected(R"({"a":"\u0000"})", "\\u0000");
}

TEST(json, invalid_utf8) {
  expect_rejected("{\"a\":\"\xFF\"}", "UTF-8");
  expect_rejected("{\"a\":\"\xC0\xAF\"}", "UTF-8");     // overlong
  expect_rejected("{\"a\":\"\xED\xA0\x80\"}", "UTF-8"); // encoded surrogate
  expect_rejected("{\"a\":\"\xC3\"}", "UTF-8");         // truncated sequence
  expect_rejected("{\"\xFE\":1}", "UTF-8");
}

TEST(json, byte_order_mark) {
  expect_rejected("\xEF\xBB\xBF{\"a\":1}", "BOM");
}

TEST(json, top_level_must_be_an_object) {
  for (auto text : {"[]", "[{\"a\":1}]", "1", "\"s\"", "null", "true", " 3 "})
    expect_rejected(text, "top-level value must be an object");
}

TEST(json, empty) {
  expect_rejected("", "empty");
  expect_rejected(" \n\t", "empty");
}

TEST(json, invalid_escapes_and_literals) {
  expect_rejected(R"({"a":"\x41"})", "escape");
  expect_rejected(R"({"a":"\u12"})", "");
  expect_rejected(R"({"a":tru})", "");
  expect_rejected(R"({"a":nul})", "");
  expect_rejected(R"({a:1})", "double quotes");
  expect_rejected(R"({"a" 1})", "");
  expect_rejected(R"({"a":1 "b":2})", "");
}

TEST(json, ten_megabyte_string_is_linear) {
  std::string text = "{\"s\":\"" + std::string(10 * 1024 * 1024, 'x') + "\"}";
  auto t0 = std::chrono::steady_clock::now();
  auto r = parse_json_object(text);
  auto dt = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->root()["s"].GetStringLength(), 10u * 1024 * 1024);
  EXPECT_LT(dt, std::chrono::seconds{5});
}

TEST(json, million_element_array_is_linear) {
  std::string text = "{\"a\":[";
  for (int i = 0; i < 1000000; ++i)
    text += i ? ",1" : "1";
  text += "]}";
  auto t0 = std::chrono::steady_clock::now();
  auto r = parse_json_object(text);
  auto dt = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->root()["a"].Size(), 1000000u);
  EXPECT_LT(dt, std::chrono::seconds{5});
}

TEST(json, hundred_thousand_keys_is_fast) {
  std::string text = "{";
  for (int i = 0; i < 100000; ++i)
    text += (i ? ",\"" : "\"") + std::to_string(i) + "\":0";
  text += "}";
  auto t0 = std::chrono::steady_clock::now();
  auto r = parse_json_object(text);
  EXPECT_TRUE(r);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds{5});
}
