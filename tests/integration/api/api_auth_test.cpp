// Tokens, roles, workspace isolation, and the API's own bad-input answers.

#include <fstream>
#include <set>

#include "api/openapi_doc.hpp"
#include "api/service/endpoint.hpp"
#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

TEST(ApiAuth, EveryBadTokenGetsTheSame401) {
  api_server s;
  const std::string route = "/api/w/admins/jobs/queue/count";
  auto good = s.call(s.admin_token, "GET", route);
  ASSERT_EQ(good.status, 200) << good.body;
  // An expired and a revoked token, made directly in the database.
  s.sql("INSERT INTO api_token (id, digest, prefix, label, role, created_by, expires_at) VALUES "
        "(gen_random_uuid(), decode(encode(sha256('mr_expired'), 'hex'), 'hex'), 'mr_expired', "
        "'x', 'admin', 't', now() - interval '1 minute')");
  s.sql("INSERT INTO api_token (id, digest, prefix, label, role, created_by, revoked_at) VALUES "
        "(gen_random_uuid(), decode(encode(sha256('mr_revoked'), 'hex'), 'hex'), 'mr_revoked', "
        "'x', 'admin', 't', now())");
  std::vector<api::http_reply> bad = {
    s.call("", "GET", route),                      // none
    s.call("mr_unknownunknownunknown", "GET", route), // unknown
    s.call("mr_expired", "GET", route),
    s.call("mr_revoked", "GET", route),
  };
  bad.push_back(api::http_call(s.as("x y z"), "GET", route)); // malformed
  for (auto& r : bad) {
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, bad[0].body) << "no oracle: one body for every case";
    EXPECT_EQ(header_of(r, "WWW-Authenticate"), "Bearer realm=\"millrace\"");
  }
  // Open routes need no token.
  EXPECT_EQ(s.call("", "GET", "/api/version").status, 200);
  EXPECT_EQ(s.call("", "GET", "/api/health/live").status, 200);
  EXPECT_EQ(s.call("", "GET", "/api/health/ready").status, 200);
}

TEST(ApiAuth, RevokingATokenThroughTheApiTakesEffectAtOnce) {
  api_server s;
  auto created = s.call(s.admin_token, "POST", "/api/w/ws-a/tokens/create",
                        R"({"label":"temp","expires_in_secs":3600})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto j = json_of(created.body);
  std::string token = j["token"].GetString();
  std::string id = j["id"].GetString();
  EXPECT_EQ(std::string{j["role"].GetString()}, "user");
  EXPECT_EQ(s.call(token, "GET", "/api/w/ws-a/jobs/queue/count").status, 200);
  auto listed = s.call(s.user_token, "GET", "/api/w/ws-a/tokens/list");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find(token), std::string::npos) << "a list never shows tokens";
  EXPECT_NE(listed.body.find(id), std::string::npos);
  // ws-b's user cannot see or revoke ws-a's token.
  EXPECT_EQ(s.call(s.user_b_token, "GET", "/api/w/ws-a/tokens/list").status, 404);
  auto revoked = s.call(s.admin_token, "POST", "/api/w/ws-a/tokens/revoke/" + id);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(s.call(token, "GET", "/api/w/ws-a/jobs/queue/count").status, 401);
  EXPECT_EQ(s.call(s.admin_token, "POST", "/api/w/ws-b/tokens/revoke/" + id).status, 404)
    << "revoking through another workspace finds nothing";
}

TEST(ApiAuth, UsersGet403OnAdminRoutesAnd404ForOtherWorkspaces) {
  api_server s;
  EXPECT_EQ(s.call(s.user_token, "POST", "/api/workspaces/create", R"({"id":"nope"})").status, 403);
  EXPECT_EQ(s.call(s.user_token, "POST", "/api/tokens/create", "{}").status, 403);
  EXPECT_EQ(s.call(s.user_token, "GET", "/api/tokens/list").status, 403);
  EXPECT_EQ(s.call(s.user_token, "POST", "/api/w/ws-a/tokens/create", "{}").status, 403);
  // Another workspace, an unknown one, and one that does not exist at all.
  for (auto ws : {"ws-b", "admins", "nowhere"}) {
    auto r = s.call(s.user_token, "GET", std::string{"/api/w/"} + ws + "/jobs/queue/count");
    EXPECT_EQ(r.status, 404) << ws;
    EXPECT_EQ(std::string{json_of(r.body)["error"].GetString()}, "not_found");
  }
  EXPECT_EQ(s.call(s.admin_token, "GET", "/api/w/nowhere/jobs/queue/count").status, 404);
  auto list = s.call(s.user_token, "GET", "/api/workspaces/list");
  ASSERT_EQ(list.status, 200);
  auto j = json_of(list.body);
  ASSERT_EQ(j.Size(), 1u);
  EXPECT_EQ(std::string{j[0]["id"].GetString()}, "ws-a");
  // A job and a script of ws-a are invisible from ws-b: 404, not 403.
  push_script(s, s.user_token, "ws-a", "f/a/hello", "bash", "echo hi\n");
  auto run = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/p/f/a/hello", "{}");
  ASSERT_EQ(run.status, 201) << run.body;
  auto job = run.body;
  EXPECT_EQ(s.call(s.user_b_token, "GET", "/api/w/ws-b/jobs_u/get/" + job).status, 404);
  EXPECT_EQ(s.call(s.user_b_token, "POST", "/api/w/ws-b/jobs_u/queue/cancel/" + job, "{}").status,
            404);
  EXPECT_EQ(s.call(s.user_b_token, "GET", "/api/w/ws-b/scripts/get/p/f/a/hello").status, 404);
  EXPECT_EQ(s.call(s.user_b_token, "POST", "/api/w/ws-b/jobs/run/p/f/a/hello", "{}").status, 404);
  EXPECT_EQ(s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/get/" + job).status, 200);
  // Admins create workspaces; a taken id is a conflict.
  EXPECT_EQ(s.call(s.admin_token, "POST", "/api/workspaces/create", R"({"id":"ws-c"})").status, 201);
  EXPECT_EQ(s.call(s.admin_token, "POST", "/api/workspaces/create", R"({"id":"ws-c"})").status, 409);
  auto bad = s.call(s.admin_token, "POST", "/api/workspaces/create", R"({"id":"Bad Id"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(std::string{json_of(bad.body)["field"].GetString()}, "/id");
}

TEST(ApiBadInput, TheApiAnswersJsonErrorsWithFittingStatuses) {
  api_server s;
  auto t = s.admin_token;
  auto err = [](const api::http_reply& r) { return std::string{json_of(r.body)["error"].GetString()}; };
  auto r = s.call(t, "GET", "/api/w/admins/no/such/route");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(err(r), "not_found");
  r = s.call(t, "DELETE", "/api/w/admins/jobs/list");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_of(r, "Allow"), "GET");
  r = s.call(t, "POST", "/api/w/admins/scripts/create", R"({"path":"f/a/b","path":"f/a/c"})");
  EXPECT_EQ(r.status, 400) << "duplicate keys";
  EXPECT_EQ(err(r), "bad_json");
  r = s.call(t, "POST", "/api/w/admins/scripts/create", R"({"path": )");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("byte"), std::string::npos) << r.body;
  auto raw = s.raw("POST /api/w/admins/scripts/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                   + t + "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  EXPECT_EQ(raw.rfind("HTTP/1.1 415", 0), 0u) << raw;
  // Script paths: '..', empty segments, a wrong shape, NUL.
  for (auto p : {"f/a/../b", "f//b", "x/a/b", "f/a%00/b"}) {
    r = s.call(t, "GET", std::string{"/api/w/admins/scripts/get/p/"} + p);
    EXPECT_EQ(r.status, 400) << p << " " << r.body;
  }
  // Mass assignment: fields the server sets are refused.
  r = s.call(t, "POST", "/api/w/admins/scripts/create",
             R"({"path":"f/a/b","language":"bash","content":"echo","created_by":"mallory"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string{json_of(r.body)["field"].GetString()}, "/created_by");
  // Job ids are UUIDs; numbers beyond 2^53 are not ids.
  r = s.call(t, "GET", "/api/w/admins/jobs_u/get/12345678901234567890");
  EXPECT_EQ(r.status, 400);
  // Page sizes are clamped; a tampered cursor is refused.
  r = s.call(t, "GET", "/api/w/admins/jobs/list?per_page=1000000000");
  EXPECT_EQ(r.status, 200);
  r = s.call(t, "GET", "/api/w/admins/jobs/list?per_page=-1");
  EXPECT_EQ(r.status, 200);
  r = s.call(t, "GET", "/api/w/admins/jobs/list?cursor=MjAyNi0wMS0wMXx4.0000000000000000");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(err(r), "invalid_cursor");
}

std::string openapi_path(std::string pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '*' && i + 1 < pattern.size() && pattern[i + 1] == '}')
      continue;
    out += pattern[i];
  }
  return out;
}

TEST(ApiDocs, TheOpenApiDocumentListsEveryRouteAndNoOther) {
  auto doc = json_of(api::openapi_json());
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("paths"));
  std::set<std::string> documented, routed;
  for (auto& p : doc["paths"].GetObject())
    for (auto& m : p.value.GetObject()) {
      std::string method = m.name.GetString();
      for (auto& ch : method)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      documented.insert(method + " " + p.name.GetString());
    }
  for (auto& e : api::all_endpoints())
    routed.insert(std::string{e.method} + " " + openapi_path(e.pattern));
  for (auto& r : routed)
    EXPECT_TRUE(documented.count(r)) << r << " is routed but not in api/openapi.json";
  for (auto& d : documented)
    EXPECT_TRUE(routed.count(d)) << d << " is in api/openapi.json but not routed";
  // And the server serves it.
  api_server s;
  auto r = s.call("", "GET", "/api/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, api::openapi_json());
}

} // namespace
} // namespace millrace::test
