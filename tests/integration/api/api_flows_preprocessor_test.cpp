// Flows over HTTP with a preprocessor_module: run/f gives it the request as
// flow_input.event (body, query and headers without credentials; the text
// with ?raw=true); ?skip_preprocessor=true runs the flow on the body as args,
// checked against the schema, and so does a sub-flow step on its inputs; a
// restart reuses the preprocessor's result.

#include "actors/protocol/types/job.hpp"
#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

std::string str(const rapidjson::Value& v) { return v.IsString() ? v.GetString() : "<not a string>"; }

// A flow of one identity step after `pre`: its result is its input, which is
// the preprocessor's result.
std::string with_preprocessor(const std::string& pre) {
  return R"({"modules":[{"id":"a","value":{"type":"identity"}}],"preprocessor_module":)" + pre
         + "}";
}

const std::string identity_pre = R"({"id":"preprocessor","value":{"type":"identity"}})";

// Doubles event.body.n into {"x": ...}.
const std::string doubling_pre =
  R"({"id":"preprocessor","value":{"type":"rawscript","language":"bash",)"
  R"("content":"n=\"$1\"\necho \"{\\\"x\\\": $((n * 2))}\"",)"
  R"("input_transforms":{"n":{"type":"javascript","expr":"flow_input.event.body.n"}}}})";

void create(const api_server& s, const std::string& path, const std::string& value) {
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/flows/create",
                  R"({"path":")" + path + R"(","summary":"s","value":)" + value
                    + R"(,"schema":{"type":"object","properties":{"n":{"type":"integer"}}}})");
  ASSERT_EQ(r.status, 201) << r.body;
}

// A raw HTTP request; the status and the body of the reply.
std::pair<int, std::string> raw_post(const api_server& s, const std::string& target,
                                     const std::string& headers, const std::string& body) {
  auto out = s.raw("POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers
                   + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto sp = out.find(' ');
  auto end = out.find("\r\n\r\n");
  if (sp == std::string::npos || end == std::string::npos)
    return {0, out};
  return {std::atoi(out.c_str() + sp + 1), out.substr(end + 4)};
}

// A POST with the user token and a Content-Type.
std::pair<int, std::string> post_typed(const api_server& s, const std::string& target,
                                       const std::string& type, const std::string& body) {
  return raw_post(s, target, "Authorization: Bearer " + s.user_token + "\r\nContent-Type: " + type
                               + "\r\n",
                  body);
}

TEST(ApiFlowPreprocessor, ItGetsTheRequestAsItsEventWithoutCredentials) {
  api_server s;
  create(s, "f/pre/echo", with_preprocessor(identity_pre));
  // The schema (n: integer) is of what the preprocessor returns: not checked.
  auto [status, body] =
    raw_post(s, "/api/w/ws-a/jobs/run_wait_result/f/f/pre/echo?x=1&x=2&token=sekrit",
             "Authorization: Bearer " + s.user_token
               + "\r\nCookie: session=secret\r\nX-Trace: abc\r\nContent-Type: application/json\r\n",
             R"({"n": "five"})");
  ASSERT_EQ(status, 200) << body;
  auto j = json_of(body);
  ASSERT_TRUE(j.IsObject() && j.HasMember("event")) << body;
  auto& e = j["event"];
  EXPECT_EQ(str(e["kind"]), "webhook");
  EXPECT_EQ(str(e["body"]["n"]), "five");
  EXPECT_TRUE(e["raw_string"].IsNull()) << body;
  EXPECT_EQ(str(e["query"]["x"]), "1") << "the first value";
  EXPECT_FALSE(e["query"].HasMember("token")) << body;
  EXPECT_EQ(str(e["headers"]["x-trace"]), "abc");
  EXPECT_FALSE(e["headers"].HasMember("authorization")) << body;
  EXPECT_FALSE(e["headers"].HasMember("cookie")) << body;
  for (auto* secret : {s.user_token.c_str(), "sekrit", "session=secret"})
    EXPECT_EQ(body.find(secret), std::string::npos) << "a credential in the args: " << body;

  // ?raw=true: any body, as text; not JSON: body is null.
  std::tie(status, body) = post_typed(s, "/api/w/ws-a/jobs/run_wait_result/f/f/pre/echo?raw=true",
                                      "text/plain", "hello there");
  ASSERT_EQ(status, 200) << body;
  j = json_of(body);
  EXPECT_TRUE(j["event"]["body"].IsNull()) << body;
  EXPECT_EQ(str(j["event"]["raw_string"]), "hello there");
  EXPECT_EQ(str(j["event"]["headers"]["content-type"]), "text/plain");
  // Without it, a body that is not JSON is refused, saying how to send it.
  std::tie(status, body) = post_typed(s, "/api/w/ws-a/jobs/run/f/f/pre/echo",
                                      "text/plain", "hello there");
  EXPECT_EQ(status, 415) << body;
  EXPECT_NE(body.find("?raw=true"), std::string::npos) << body;
  std::tie(status, body) = post_typed(s, "/api/w/ws-a/jobs/run/f/f/pre/echo",
                                      "application/json", "{\"n\": ");
  EXPECT_EQ(status, 400) << body;
  EXPECT_EQ(str(json_of(body)["error"]), "bad_json");
  // The strict parser of every body: bounded depth, no NUL (the job's jsonb
  // args could not store it); any JSON value.
  for (auto& bad : {std::string(100000, '['), std::string{R"({"s": "a\u0000b"})"}}) {
    std::tie(status, body) = post_typed(s, "/api/w/ws-a/jobs/run/f/f/pre/echo",
                                        "application/json", bad);
    EXPECT_EQ(status, 400) << body;
    EXPECT_EQ(str(json_of(body)["error"]), "bad_json") << body;
  }
  std::tie(status, body) = post_typed(s, "/api/w/ws-a/jobs/run_wait_result/f/f/pre/echo",
                                      "application/json", "[1, \"two\"]");
  ASSERT_EQ(status, 200) << body;
  j = json_of(body);
  ASSERT_TRUE(j["event"]["body"].IsArray()) << body;
  EXPECT_EQ(j["event"]["body"].Size(), 2u) << body;
  std::tie(status, body) = post_typed(s, "/api/w/ws-a/jobs/run_wait_result/f/f/pre/echo",
                                      "application/json", "42");
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(json_of(body)["event"]["body"].GetInt(), 42) << body;
}

// ?skip_preprocessor=true, and a sub-flow step (its inputs come from the
// step), run the flow on its args without the preprocessor.
TEST(ApiFlowPreprocessor, SkippedOrAsASubFlowTheFlowRunsOnItsArgs) {
  api_server s;
  create(s, "f/pre/double", with_preprocessor(doubling_pre));
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/pre/double",
                  R"({"n": 5})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r.body)["x"].GetInt(), 10) << r.body;
  r = s.call(s.user_token, "POST",
             "/api/w/ws-a/jobs/run_wait_result/f/f/pre/double?skip_preprocessor=true",
             R"({"n": 3})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_of(r.body);
  EXPECT_EQ(j["n"].GetInt(), 3) << "the body is the flow's input: " << r.body;
  EXPECT_FALSE(j.HasMember("x")) << r.body;
  r = s.call(s.user_token, "POST",
             "/api/w/ws-a/jobs/run_wait_result/f/f/pre/double?skip_preprocessor=true",
             R"({"n": "three"})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(str(json_of(r.body)["field"]), "/n");
  // Without the preprocessor the body must be JSON, whatever ?raw= says.
  auto [status, body] =
    post_typed(s, "/api/w/ws-a/jobs/run/f/f/pre/double?skip_preprocessor=true&raw=true",
               "text/plain", "3");
  EXPECT_EQ(status, 415) << body;

  create(s, "f/pre/parent",
         R"({"modules":[{"id":"call","value":{"type":"flow","path":"f/pre/double",)"
         R"("input_transforms":{"x":{"type":"static","value":7}}}}]})");
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/pre/parent", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r.body)["x"].GetInt(), 7) << "the sub-flow's input is the step's: " << r.body;
}

TEST(ApiFlowPreprocessor, ARestartUsesThePreprocessorsResultAsArgs) {
  api_server s;
  create(s, "f/pre/double", with_preprocessor(doubling_pre));
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/f/f/pre/double", R"({"n": 21})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto first = r.body;
  ASSERT_EQ(s.tree->wait(first).status, actors::job_status::success);
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + first + "/from/a", "{}");
  ASSERT_EQ(r.status, 201) << r.body;
  auto second = r.body;
  auto done = s.tree->wait(second);
  ASSERT_EQ(done.status, actors::job_status::success) << done.result;
  EXPECT_EQ(done.result, R"({"x":42})");
  auto row = s.sql("SELECT args::text, raw_code LIKE '%preprocessor_module%' FROM job "
                   "WHERE id = $1::uuid",
                   {second});
  ASSERT_EQ(row.rows.size(), 1u);
  EXPECT_EQ(row.rows[0][0].text, R"({"x": 42})");
  EXPECT_EQ(row.rows[0][1].text, "f") << "the restart does not run the preprocessor again";
  auto steps = s.sql("SELECT count(*) FROM job WHERE parent_job = $1::uuid", {second});
  EXPECT_EQ(steps.rows[0][0].text, "0") << "an identity step and no preprocessor: no step job";

  // A flow whose preprocessor failed has no input to restart with.
  create(s, "f/pre/scalar",
         with_preprocessor(R"({"id":"preprocessor","value":{"type":"rawscript","language":)"
                           R"("bash","content":"echo 5","input_transforms":{}}})"));
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/f/f/pre/scalar", R"({"n": 1})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto failed = r.body;
  ASSERT_EQ(s.tree->wait(failed).status, actors::job_status::failure);
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + failed + "/from/a", "{}");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("the preprocessor did not succeed in flow " + failed), std::string::npos)
    << r.body;
}

} // namespace
} // namespace millrace::test
