// Target decoding: path, segments, query.

#include <gtest/gtest.h>

#include "api/http/uri.hpp"
#include "api/http/utf8.hpp"

using namespace millrace::api::http;

TEST(uri, splits_and_decodes) {
  decoded_target t;
  ASSERT_FALSE(decode_target("/a%20b/c%2Fd?x=1&y=a+b&z=%C3%A9&flag&&=v", t));
  EXPECT_EQ(t.path, "/a b/c/d");
  ASSERT_EQ(t.segments.size(), 2u);
  EXPECT_EQ(t.segments[0], "a b");
  EXPECT_EQ(t.segments[1], "c/d");
  ASSERT_EQ(t.query.size(), 5u);
  EXPECT_EQ(t.query[0], (std::pair<std::string, std::string>{"x", "1"}));
  EXPECT_EQ(t.query[1].second, "a b");
  EXPECT_EQ(t.query[2].second, "\xC3\xA9");
  EXPECT_EQ(t.query[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(t.query[4], (std::pair<std::string, std::string>{"", "v"}));
  EXPECT_EQ(t.raw_query, "x=1&y=a+b&z=%C3%A9&flag&&=v");
}

TEST(uri, segments_of_root_and_trailing_slash) {
  decoded_target t;
  ASSERT_FALSE(decode_target("/", t));
  EXPECT_EQ(t.segments, std::vector<std::string>{""});
  ASSERT_FALSE(decode_target("/a/", t));
  EXPECT_EQ(t.segments, (std::vector<std::string>{"a", ""}));
}

TEST(uri, path_errors) {
  decoded_target t;
  for (auto bad : {"a/b", "*", "http://x/a", "/%", "/%g0", "/a%00", "/%ff", "/%c0%ae", "/.",
                   "/a/..", "/a/%2e", "/a/%2E%2e/b", "/a/.%2e", "/x#frag"}) {
    auto e = decode_target(bad, t);
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->status, 400) << bad;
  }
}

TEST(uri, dots_inside_names_are_fine) {
  decoded_target t;
  EXPECT_FALSE(decode_target("/a/.hidden/b..c/...", t));
}

TEST(uri, query_errors) {
  decoded_target t;
  for (auto bad : {"/a?x=%zz", "/a?x=%00", "/a?%ff=1", "/a?x=%"}) {
    auto e = decode_target(bad, t);
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->code, "bad_request") << bad;
  }
}

TEST(utf8, validation) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii text, longer than eight bytes"));
  EXPECT_TRUE(valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));        // overlong '/'
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));    // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));    // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xC3"));            // truncated
  EXPECT_FALSE(valid_utf8("abc\x80"));
  EXPECT_EQ(utf8_error_offset("abcdefghij\xFF"), 10u);
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
}

TEST(utf8, escape_for_log) {
  EXPECT_EQ(escape_for_log("a\r\nb\"\\"), "a\\x0d\\x0ab\\x22\\x5c");
  EXPECT_EQ(escape_for_log(std::string(10, 'x'), 4), "xxxx...");
}
