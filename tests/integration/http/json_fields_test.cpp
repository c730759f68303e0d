// Field helpers: types, ranges, ids, JSON pointers, unknown fields.

#include <gtest/gtest.h>

#include "api/http/json.hpp"
#include "api/http/json_fields.hpp"

using namespace millrace::api::http;

namespace {

json_body parse(std::string_view text) {
  auto r = parse_json_object(text);
  EXPECT_TRUE(r) << r.error().message;
  return std::move(*r);
}

} // namespace

TEST(json_fields, reads_typed_fields) {
  auto body = parse(R"({"path":"f/x","prio":3,"ratio":0.5,"on":true,"id":"018f","args":{"x":7},
                        "tags":["a"],"raw":{"any":[1]}})");
  json_fields f{body.root()};
  EXPECT_EQ(f.string("path"), "f/x");
  EXPECT_EQ(f.integer("prio", 0, 10), 3);
  EXPECT_DOUBLE_EQ(f.number("ratio", 0, 1), 0.5);
  EXPECT_TRUE(f.boolean("on"));
  EXPECT_EQ(f.id("id"), "018f");
  auto args = f.object("args");
  EXPECT_EQ(args.integer("x"), 7);
  auto* tags = f.array("tags", 10);
  ASSERT_NE(tags, nullptr);
  EXPECT_EQ(tags->Size(), 1u);
  EXPECT_NE(f.value("raw"), nullptr);
  EXPECT_FALSE(f.optional_string("missing"));
  f.reject_unknown();
  args.reject_unknown();
  EXPECT_TRUE(f.ok());
  EXPECT_FALSE(f.error());
}

TEST(json_fields, missing_and_null_required_fields) {
  auto body = parse(R"({"a":null})");
  json_fields f{body.root()};
  f.string("a");
  ASSERT_TRUE(f.error());
  EXPECT_EQ(f.error()->status, 400);
  EXPECT_EQ(f.error()->code, "invalid_field");
  EXPECT_EQ(f.error()->field, "/a");
  EXPECT_EQ(f.error()->message, "must not be null");

  json_fields g{body.root()};
  g.integer("b");
  ASSERT_TRUE(g.error());
  EXPECT_EQ(g.error()->field, "/b");
  EXPECT_EQ(g.error()->message, "is required");
}

TEST(json_fields, null_for_optional_is_absent) {
  auto body = parse(R"({"a":null})");
  json_fields f{body.root()};
  EXPECT_FALSE(f.optional_string("a"));
  EXPECT_TRUE(f.ok());
}

TEST(json_fields, wrong_types_name_the_pointer) {
  auto body = parse(R"({"args":{"x":"seven","list":[1]}})");
  json_fields f{body.root()};
  auto args = f.object("args");
  args.integer("x");
  ASSERT_TRUE(f.error()); // shared with the nested reader
  EXPECT_EQ(f.error()->field, "/args/x");
  EXPECT_EQ(f.error()->message, "must be an integer, not a string");
}

TEST(json_fields, first_error_wins) {
  auto body = parse(R"({"a":1,"b":2})");
  json_fields f{body.root()};
  f.string("a");
  f.string("b");
  EXPECT_EQ(f.error()->field, "/a");
}

TEST(json_fields, object_of_wrong_type) {
  auto body = parse(R"({"args":[1,2]})");
  json_fields f{body.root()};
  auto args = f.object("args");
  EXPECT_EQ(args.integer("x"), 0);
  ASSERT_TRUE(f.error());
  EXPECT_EQ(f.error()->field, "/args");
  EXPECT_EQ(f.error()->message, "must be an object, not an array");
}

TEST(json_fields, integer_ranges_and_fractions) {
  auto body = parse(R"({"a":11,"b":1.5,"c":-1,"d":9007199254740992,"e":1e300,"f":2.0})");
  {
    json_fields f{body.root()};
    f.integer("a", 0, 10);
    EXPECT_EQ(f.error()->message, "must be between 0 and 10");
  }
  {
    json_fields f{body.root()};
    f.integer("b");
    EXPECT_EQ(f.error()->message, "must be an integer");
  }
  {
    json_fields f{body.root()};
    EXPECT_EQ(f.integer("c"), -1);
    EXPECT_TRUE(f.ok());
  }
  {
    json_fields f{body.root()};
    f.integer("d");
    EXPECT_EQ(f.error()->message, "integer beyond 2^53 cannot be represented exactly");
  }
  {
    json_fields f{body.root()};
    f.integer("e");
    EXPECT_EQ(f.error()->message, "integer beyond 2^53 cannot be represented exactly");
  }
  {
    json_fields f{body.root()};
    f.integer("f"); // 2.0 is a double in JSON terms: not an integer
    EXPECT_EQ(f.error()->message, "must be an integer");
  }
}

TEST(json_fields, ids_are_strings) {
  auto body = parse(R"({"small":42,"big":9007199254740993,"huge":18446744073709551615,
                        "empty":"","obj":{},"long":"xxxxxxxxxx"})");
  auto message = [&](const char* name, std::size_t max = 128) {
    json_fields f{body.root()};
    f.id(name, max);
    return f.error() ? f.error()->message : std::string{};
  };
  EXPECT_EQ(message("small"), "ids are strings, not numbers");
  EXPECT_EQ(message("big"), "integer beyond 2^53 cannot be represented exactly; ids are strings");
  EXPECT_EQ(message("huge"), "integer beyond 2^53 cannot be represented exactly; ids are strings");
  EXPECT_EQ(message("empty"), "id must have 1 to 128 bytes");
  EXPECT_EQ(message("obj"), "must be a string id, not an object");
  EXPECT_EQ(message("long", 5), "id must have 1 to 5 bytes");
}

TEST(json_fields, string_length_cap) {
  auto body = parse(R"({"s":"0123456789"})");
  json_fields f{body.root()};
  f.string("s", 9);
  EXPECT_EQ(f.error()->message, "longer than 9 bytes");
}

TEST(json_fields, array_item_cap) {
  auto body = parse(R"({"a":[1,2,3]})");
  json_fields f{body.root()};
  EXPECT_EQ(f.array("a", 2), nullptr);
  EXPECT_EQ(f.error()->message, "more than 2 items");
}

TEST(json_fields, unknown_fields_are_rejected) {
  // Mass assignment: fields the endpoint does not read are refused.
  auto body = parse(R"({"path":"x","workspace_id":"other","args":{"x":1,"is_admin":true}})");
  json_fields f{body.root()};
  f.string("path");
  auto args = f.object("args");
  args.integer("x");
  args.reject_unknown();
  ASSERT_TRUE(f.error());
  EXPECT_EQ(f.error()->field, "/args/is_admin");
  EXPECT_EQ(f.error()->message, "unknown field");

  json_fields g{body.root()};
  g.string("path");
  g.has("args");
  g.reject_unknown();
  EXPECT_EQ(g.error()->field, "/workspace_id");
}

TEST(json_fields, pointer_escaping) {
  EXPECT_EQ(json_pointer_append("", "a/b"), "/a~1b");
  EXPECT_EQ(json_pointer_append("/x", "m~n"), "/x/m~0n");
  auto body = parse(R"({"a/b":1})");
  json_fields f{body.root()};
  f.string("a/b");
  EXPECT_EQ(f.error()->field, "/a~1b");
}

TEST(json_fields, root_not_an_object) {
  rapidjson::Document d;
  d.SetArray();
  json_fields f{d};
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.error()->field, "/");
}
