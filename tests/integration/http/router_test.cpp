// Router: precedence, parameters, 404/405/400, pattern validation.

#include <gtest/gtest.h>

#include "api/http/router.hpp"

using namespace millrace::api::http;

namespace {

handler noop() {
  return [](request&&, route_match&&, responder) {};
}

router sample() {
  router r;
  r.add("GET", "/api/version", noop());
  r.add("GET", "/api/w/{workspace}/jobs/list", noop());
  r.add("GET", "/api/w/{workspace}/jobs_u/get/{id}", noop());
  r.add("POST", "/api/w/{workspace}/jobs/run/p/{path*}", noop());
  r.add("GET", "/api/w/{workspace}/jobs/run/p/{path*}", noop());
  r.add("GET", "/api/w/admins/jobs/list", noop()); // literal beats {workspace}
  r.add("DELETE", "/api/w/{workspace}/jobs_u/get/{id}", noop());
  r.add("GET", "/a/b/d", noop());
  r.add("GET", "/a/{x}/c", noop());
  r.add("GET", "/", noop());
  return r;
}

} // namespace

TEST(router, literal_route) {
  auto r = sample();
  auto m = r.match_target("GET", "/api/version");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.pattern, "/api/version");
  EXPECT_TRUE(m.match.params.empty());
}

TEST(router, root) {
  auto r = sample();
  EXPECT_EQ(r.match_target("GET", "/").kind, router::outcome::matched);
}

TEST(router, parameter_is_decoded) {
  auto r = sample();
  auto m = r.match_target("GET", "/api/w/my%20ws/jobs_u/get/%C3%A9t%C3%A9");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.pattern, "/api/w/{workspace}/jobs_u/get/{id}");
  EXPECT_EQ(m.match.params.at("workspace"), "my ws");
  EXPECT_EQ(m.match.params.at("id"), "\xC3\xA9t\xC3\xA9");
}

TEST(router, literal_beats_parameter) {
  auto r = sample();
  auto m = r.match_target("GET", "/api/w/admins/jobs/list");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.pattern, "/api/w/admins/jobs/list");
  auto other = r.match_target("GET", "/api/w/demo/jobs/list");
  ASSERT_EQ(other.kind, router::outcome::matched);
  EXPECT_EQ(other.match.pattern, "/api/w/{workspace}/jobs/list");
  EXPECT_EQ(other.match.params.at("workspace"), "demo");
}

TEST(router, backtracks_from_literal_to_parameter) {
  auto r = sample();
  auto m = r.match_target("GET", "/a/b/c");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.pattern, "/a/{x}/c");
  EXPECT_EQ(m.match.params.at("x"), "b");
}

TEST(router, rest_parameter_takes_slashes) {
  auto r = sample();
  auto m = r.match_target("POST", "/api/w/demo/jobs/run/p/f/folder/script");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.params.at("workspace"), "demo");
  EXPECT_EQ(m.match.params.at("path"), "f/folder/script");
}

TEST(router, rest_parameter_single_segment) {
  auto r = sample();
  auto m = r.match_target("POST", "/api/w/demo/jobs/run/p/script");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.params.at("path"), "script");
}

TEST(router, rest_parameter_must_not_be_empty) {
  auto r = sample();
  EXPECT_EQ(r.match_target("POST", "/api/w/demo/jobs/run/p/").kind, router::outcome::bad_path);
  EXPECT_EQ(r.match_target("POST", "/api/w/demo/jobs/run/p").kind, router::outcome::not_found);
}

TEST(router, rest_parameter_rejects_empty_segments) {
  auto r = sample();
  auto m = r.match_target("POST", "/api/w/demo/jobs/run/p/f//script");
  EXPECT_EQ(m.kind, router::outcome::bad_path);
  EXPECT_EQ(m.error.status, 400);
}

TEST(router, unknown_path_is_404) {
  auto r = sample();
  auto m = r.match_target("GET", "/api/nope");
  EXPECT_EQ(m.kind, router::outcome::not_found);
  EXPECT_EQ(m.error.status, 404);
  EXPECT_EQ(m.error.code, "not_found");
}

TEST(router, empty_segment_does_not_match_parameter) {
  auto r = sample();
  EXPECT_EQ(r.match_target("GET", "/api/w//jobs/list").kind, router::outcome::not_found);
}

TEST(router, wrong_method_is_405_with_allow) {
  auto r = sample();
  auto m = r.match_target("PUT", "/api/w/demo/jobs_u/get/42");
  ASSERT_EQ(m.kind, router::outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "DELETE, GET");
  EXPECT_EQ(m.error.status, 405);
  EXPECT_EQ(m.error.code, "method_not_allowed");
}

TEST(router, unknown_method_is_405) {
  auto r = sample();
  auto m = r.match_target("FOO", "/api/version");
  ASSERT_EQ(m.kind, router::outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET");
}

TEST(router, methods_are_case_sensitive) {
  auto r = sample();
  EXPECT_EQ(r.match_target("get", "/api/version").kind, router::outcome::method_not_allowed);
}

TEST(router, encoded_slash_in_single_parameter_is_400) {
  auto r = sample();
  auto m = r.match_target("GET", "/api/w/a%2Fb/jobs/list");
  EXPECT_EQ(m.kind, router::outcome::bad_path);
  EXPECT_EQ(m.error.status, 400);
  EXPECT_EQ(m.error.code, "invalid_path");
}

TEST(router, encoded_slash_in_rest_parameter_is_kept) {
  auto r = sample();
  auto m = r.match_target("GET", "/api/w/demo/jobs/run/p/f/a%2Fb");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.params.at("path"), "f/a/b");
}

TEST(router, dot_segments_are_400) {
  auto r = sample();
  for (auto t : {"/api/w/../jobs/list", "/api/w/./jobs/list", "/api/w/%2e%2e/jobs/list",
                 "/api/w/demo/jobs/run/p/f/%2E%2E%2Fsecret", "/api/w/demo/jobs/run/p/f/..",
                 "/api/w/demo/jobs/run/p/..%2f..%2fetc"}) {
    auto m = r.match_target("GET", t);
    EXPECT_EQ(m.kind, router::outcome::bad_path) << t;
    EXPECT_EQ(m.error.status, 400) << t;
  }
}

TEST(router, nul_and_bad_utf8_are_400) {
  auto r = sample();
  for (auto t : {"/api/w/a%00b/jobs/list", "/api/w/%ff/jobs/list", "/api/w/%c0%af/jobs/list",
                 "/api/w/%ed%a0%80/jobs/list", "/api/w/%zz/jobs/list", "/api/w/%4/jobs/list"}) {
    auto m = r.match_target("GET", t);
    EXPECT_EQ(m.kind, router::outcome::bad_path) << t;
    EXPECT_EQ(m.error.code, "invalid_path") << t;
  }
}

TEST(router, homoglyph_is_just_another_name) {
  auto r = sample();
  // Cyrillic 'а' in "аdmins": a different workspace, not the literal route.
  auto m = r.match_target("GET", "/api/w/%D0%B0dmins/jobs/list");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.pattern, "/api/w/{workspace}/jobs/list");
  EXPECT_EQ(r.match_target("GET", "/api/%D0%B0%D1%80i/version").kind, router::outcome::not_found);
}

TEST(router, lists_routes_in_order) {
  auto r = sample();
  auto list = r.routes();
  ASSERT_EQ(list.size(), 10u);
  EXPECT_EQ(list[0].method, "GET");
  EXPECT_EQ(list[0].pattern, "/api/version");
  EXPECT_EQ(list[3].method, "POST");
  EXPECT_EQ(list[3].pattern, "/api/w/{workspace}/jobs/run/p/{path*}");
}

TEST(router, rejects_bad_patterns) {
  router r;
  EXPECT_THROW(r.add("GET", "no/slash", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a//b", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{}", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{x", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{x}/{x}", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{x*}/b", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{1x}", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/b%2F", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("", "/a", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a", handler{}), std::invalid_argument);
}

TEST(router, rejects_duplicates_even_with_other_names) {
  router r;
  r.add("GET", "/a/{x}", noop());
  EXPECT_THROW(r.add("GET", "/a/{y}", noop()), std::invalid_argument);
  r.add("DELETE", "/a/{y}", noop()); // other method: fine, own names
  auto m = r.match_target("DELETE", "/a/1");
  ASSERT_EQ(m.kind, router::outcome::matched);
  EXPECT_EQ(m.match.params.at("y"), "1");
}

TEST(router, query_is_not_part_of_the_path) {
  auto r = sample();
  auto m = r.match_target("GET", "/api/version?x=1&y=%2F");
  EXPECT_EQ(m.kind, router::outcome::matched);
}
