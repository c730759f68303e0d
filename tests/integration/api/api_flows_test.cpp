// Flows over HTTP: flows/create, update, get, exists, list, history and
// archive; validation refusals (each naming the module, or the sub-flow
// cycle); jobs/run/f, run_wait_result/f and preview_flow run by the flow
// engine with steps on the worker slots; the flow job's `flow_status` on
// jobs_u/get; workspace isolation.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/protocol/types/job.hpp"
#include "api/service/crypto.hpp"
#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

/// `s` as a JSON string literal.
std::string quoted(const std::string& s) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {sb.GetString(), sb.GetSize()};
}

/// A rawscript bash module; `code` gets the named args as $1, $2, ...
std::string bash_step(const std::string& id, const std::string& code,
                      const std::string& transforms = "{}") {
  return R"({"id":)" + quoted(id) + R"(,"value":{"type":"rawscript","language":"bash","content":)"
         + quoted(code) + R"(,"input_transforms":)" + transforms + "}}";
}

std::string value_of(const std::vector<std::string>& modules) {
  std::string out = R"({"modules":[)";
  for (size_t i = 0; i < modules.size(); ++i)
    out += (i ? "," : "") + modules[i];
  return out + "]}";
}

/// An OpenFlow document for flows/create and flows/update.
std::string flow_doc(const std::string& path, const std::string& value,
                     const std::string& summary = "a flow") {
  return R"({"path":)" + quoted(path) + R"(,"summary":)" + quoted(summary)
         + R"(,"description":"for the tests","value":)" + value
         + R"(,"schema":{"type":"object","properties":{"n":{"type":"integer"}}}})";
}

/// Two bash steps: a doubles flow_input.n, b adds 1 to a's result.
std::string two_steps() {
  return value_of(
    {bash_step("a", "x=\"$1\"\necho $((x * 2))\n",
               R"({"x":{"type":"javascript","expr":"flow_input.n"}})"),
     bash_step("b", "y=\"$1\"\necho \"{\\\"sum\\\": $((y + 1))}\"\n",
               R"({"y":{"type":"javascript","expr":"results.a"}})")});
}

std::string identity_flow() { return value_of({R"({"id":"same","value":{"type":"identity"}})"}); }

std::string str(const rapidjson::Value& v) { return v.IsString() ? v.GetString() : "<not a string>"; }

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

/// Posts a definition and expects 201 with the path as the body.
void create(const api_server& s, const std::string& token, const std::string& ws,
            const std::string& path, const std::string& value) {
  auto r = s.call(token, "POST", "/api/w/" + ws + "/flows/create", flow_doc(path, value));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body, path);
}

/// Expects a 400 invalid_flow whose message and `errors` name `module_id`.
void expect_refused(const api::http_reply& r, const std::string& module_id,
                    const std::string& what) {
  ASSERT_EQ(r.status, 400) << r.body;
  auto j = json_of(r.body);
  EXPECT_EQ(str(j["error"]), "invalid_flow");
  auto msg = str(j["message"]);
  EXPECT_TRUE(contains(msg, "module '" + module_id + "'")) << msg;
  EXPECT_TRUE(contains(msg, what)) << msg;
  ASSERT_TRUE(j.HasMember("errors") && j["errors"].IsArray() && j["errors"].Size() >= 1) << r.body;
  EXPECT_EQ(str(j["errors"][0]["module_id"]), module_id);
  EXPECT_TRUE(contains(str(j["errors"][0]["field"]), "value.modules")) << r.body;
}

TEST(ApiFlows, CreateThenGetExistsListHistoryAndUpdateMakesAVersion) {
  api_server s;
  auto t = s.user_token;
  create(s, t, "ws-a", "f/demo/double", two_steps());
  create(s, t, "ws-a", "f/demo/same", identity_flow());
  create(s, t, "ws-a", "u/me/elsewhere", identity_flow());

  auto got = s.call(t, "GET", "/api/w/ws-a/flows/get/f/demo/double");
  ASSERT_EQ(got.status, 200) << got.body;
  auto j = json_of(got.body);
  EXPECT_EQ(str(j["workspace_id"]), "ws-a");
  EXPECT_EQ(str(j["path"]), "f/demo/double");
  EXPECT_EQ(str(j["summary"]), "a flow");
  EXPECT_EQ(str(j["description"]), "for the tests");
  EXPECT_FALSE(j["archived"].GetBool());
  ASSERT_TRUE(j["version_id"].IsInt64());
  auto v1 = j["version_id"].GetInt64();
  ASSERT_TRUE(j["value"]["modules"].IsArray());
  ASSERT_EQ(j["value"]["modules"].Size(), 2u);
  EXPECT_EQ(str(j["value"]["modules"][1]["id"]), "b");
  EXPECT_EQ(str(j["schema"]["properties"]["n"]["type"]), "integer");

  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/flows/exists/f/demo/double").body, "true");
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/flows/exists/f/demo/nope").body, "false");
  auto missing = s.call(t, "GET", "/api/w/ws-a/flows/get/f/demo/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(str(json_of(missing.body)["error"]), "not_found");
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/flows/get/f/../etc").status, 400);

  auto list = s.call(t, "GET", "/api/w/ws-a/flows/list?path_start=f/demo/");
  ASSERT_EQ(list.status, 200) << list.body;
  auto lj = json_of(list.body);
  ASSERT_EQ(lj.Size(), 2u);
  EXPECT_EQ(str(lj[0]["path"]), "f/demo/double") << "by path";
  EXPECT_EQ(str(lj[1]["path"]), "f/demo/same");
  EXPECT_FALSE(lj[0].HasMember("value")) << "lists leave the value out";
  EXPECT_EQ(json_of(s.call(t, "GET", "/api/w/ws-a/flows/list").body).Size(), 3u);
  auto page = s.call(t, "GET", "/api/w/ws-a/flows/list?per_page=2");
  EXPECT_EQ(json_of(page.body).Size(), 2u);
  auto next = header_of(page, "X-Next-Cursor");
  ASSERT_FALSE(next.empty());
  auto rest = json_of(s.call(t, "GET", "/api/w/ws-a/flows/list?per_page=2&cursor=" + next).body);
  ASSERT_EQ(rest.Size(), 1u);
  EXPECT_EQ(str(rest[0]["path"]), "u/me/elsewhere");

  // update stores a second version; the path's history lists both.
  auto up = s.call(t, "POST", "/api/w/ws-a/flows/update/f/demo/double",
                   flow_doc("f/demo/double", two_steps(), "doubles, then adds one"));
  ASSERT_EQ(up.status, 201) << up.body;
  EXPECT_EQ(up.body, "f/demo/double");
  j = json_of(s.call(t, "GET", "/api/w/ws-a/flows/get/f/demo/double").body);
  EXPECT_EQ(str(j["summary"]), "doubles, then adds one");
  ASSERT_TRUE(j["version_id"].IsInt64());
  auto v2 = j["version_id"].GetInt64();
  EXPECT_GT(v2, v1);
  auto hist = s.call(t, "GET", "/api/w/ws-a/flows/history/p/f/demo/double");
  ASSERT_EQ(hist.status, 200) << hist.body;
  auto hj = json_of(hist.body);
  ASSERT_EQ(hj.Size(), 2u);
  EXPECT_EQ(hj[0]["version_id"].GetInt64(), v2) << "newest first";
  EXPECT_EQ(str(hj[0]["summary"]), "doubles, then adds one");
  EXPECT_EQ(hj[1]["version_id"].GetInt64(), v1);
  EXPECT_EQ(str(hj[1]["summary"]), "a flow");
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/flows/history/p/f/demo/nope").status, 404);
}

TEST(ApiFlows, InvalidFlowsAreRefusedNamingTheModule) {
  api_server s;
  auto t = s.user_token;
  auto post = [&](const std::string& path, const std::string& value) {
    return s.call(t, "POST", "/api/w/ws-a/flows/create", flow_doc(path, value));
  };
  expect_refused(post("f/bad/dup", value_of({bash_step("a", "echo 1\n"), bash_step("a", "echo 2\n")})),
                 "a", "duplicate module id 'a'");
  expect_refused(post("f/bad/type", value_of({R"({"id":"think","value":{"type":"aiagent"}})"})),
                 "think", "unknown module type 'aiagent'");
  expect_refused(post("f/bad/id", value_of({bash_step("Not-OK", "echo 1\n")})), "Not-OK",
                 "invalid module id 'Not-OK'");
  expect_refused(
    post("f/bad/ref", value_of({bash_step("a", "echo 1\n"),
                                R"({"id":"call","value":{"type":"script","path":"f/no/such"}})"})),
    "call", "script 'f/no/such' does not exist");
  expect_refused(
    post("f/bad/sub", value_of({R"({"id":"sub","value":{"type":"flow","path":"f/no/flow"}})"})),
    "sub", "flow 'f/no/flow' does not exist");
  // Nothing was stored.
  for (auto p : {"f/bad/dup", "f/bad/type", "f/bad/id", "f/bad/ref", "f/bad/sub"})
    EXPECT_EQ(s.call(t, "GET", std::string{"/api/w/ws-a/flows/exists/"} + p).body, "false") << p;
  // A body that is not an OpenFlow document at all, and a bad path.
  auto r = s.call(t, "POST", "/api/w/ws-a/flows/create", R"({"summary":"no path"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(str(json_of(r.body)["field"]), "/path");
  r = s.call(t, "POST", "/api/w/ws-a/flows/create", flow_doc("f/../x", identity_flow()));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(str(json_of(r.body)["field"]), "/path");
  // An existing script reference is accepted.
  push_script(s, t, "ws-a", "f/ok/echo", "bash", "echo '\"ok\"'\n");
  create(s, t, "ws-a", "f/ok/ref",
         value_of({R"({"id":"call","value":{"type":"script","path":"f/ok/echo"}})"}));
}

TEST(ApiFlows, ASubFlowCycleIsRefusedWithTheCycleNamed) {
  api_server s;
  auto t = s.user_token;
  create(s, t, "ws-a", "f/cyc/b", identity_flow());
  create(s, t, "ws-a", "f/cyc/a",
         value_of({R"({"id":"call_b","value":{"type":"flow","path":"f/cyc/b"}})"}));
  auto r = s.call(t, "POST", "/api/w/ws-a/flows/update/f/cyc/b",
                  flow_doc("f/cyc/b",
                           value_of({R"({"id":"call_a","value":{"type":"flow","path":"f/cyc/a"}})"})));
  ASSERT_EQ(r.status, 400) << r.body;
  auto j = json_of(r.body);
  EXPECT_EQ(str(j["error"]), "invalid_flow");
  EXPECT_TRUE(contains(str(j["message"]), "f/cyc/b -> f/cyc/a -> f/cyc/b")) << r.body;
  auto hist = json_of(s.call(t, "GET", "/api/w/ws-a/flows/history/p/f/cyc/b").body);
  EXPECT_EQ(hist.Size(), 1u) << "the refused version was not stored";
  // A flow calling itself directly is a cycle too.
  r = s.call(t, "POST", "/api/w/ws-a/flows/update/f/cyc/a",
             flow_doc("f/cyc/a", value_of({R"({"id":"me","value":{"type":"flow","path":"f/cyc/a"}})"})));
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(contains(str(json_of(r.body)["message"]), "f/cyc/a -> f/cyc/a")) << r.body;
}

TEST(ApiFlows, RunWaitResultRunsTheStepsAndChecksArgs) {
  api_server s;
  auto t = s.user_token;
  create(s, t, "ws-a", "f/run/double", two_steps());
  auto r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/run/double", R"({"n": 20})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_of(r.body);
  ASSERT_TRUE(j.IsObject()) << r.body;
  EXPECT_EQ(j["sum"].GetInt(), 41) << "a = 2 * 20, b = a + 1";
  r = s.call(t, "GET", "/api/w/ws-a/jobs/run_wait_result/f/f/run/double?payload="
                         + api::base64url_encode(R"({"n":5})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r.body)["sum"].GetInt(), 11);
  // Args are checked against the flow's schema before anything runs.
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/run/double", R"({"n": "twenty"})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(str(json_of(r.body)["field"]), "/n");
  // A failing step fails the flow: 500 job_failure with the step's error.
  create(s, t, "ws-a", "f/run/fails", value_of({bash_step("boom", "echo no luck >&2\nexit 3\n")}));
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/run/fails", "{}");
  ASSERT_EQ(r.status, 500) << r.body;
  j = json_of(r.body);
  EXPECT_EQ(str(j["error"]), "job_failure");
  EXPECT_TRUE(j["job_id"].IsString());
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/run/nope", "{}").status, 404);
}

TEST(ApiFlows, RunAnswersAnIdAndTheJobShowsItsFlowStatus) {
  api_server s;
  auto t = s.user_token;
  create(s, t, "ws-a", "f/run/double", two_steps());
  auto r = s.call(t, "POST", "/api/w/ws-a/jobs/run/f/f/run/double", R"({"n": 3})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = r.body;
  ASSERT_EQ(id.size(), 36u) << id;
  auto done = s.tree->wait(id);
  EXPECT_EQ(done.status, actors::job_status::success) << done.result;

  auto g = s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + id);
  ASSERT_EQ(g.status, 200) << g.body;
  auto j = json_of(g.body);
  EXPECT_EQ(str(j["status"]), "success");
  EXPECT_EQ(str(j["job_kind"]), "flow");
  EXPECT_EQ(str(j["script_path"]), "f/run/double");
  EXPECT_EQ(str(j["tag"]), "flow");
  EXPECT_EQ(j["result"]["sum"].GetInt(), 7);
  ASSERT_TRUE(j.HasMember("flow_status") && j["flow_status"].IsObject()) << g.body;
  auto& fs = j["flow_status"];
  EXPECT_EQ(fs["step"].GetInt(), 2);
  ASSERT_TRUE(fs["modules"].IsArray());
  ASSERT_EQ(fs["modules"].Size(), 2u) << g.body;
  const char* ids[] = {"a", "b"};
  for (rapidjson::SizeType k = 0; k < 2; ++k) {
    auto& m = fs["modules"][k];
    EXPECT_EQ(str(m["id"]), ids[k]);
    EXPECT_EQ(str(m["type"]), "Success") << g.body;
    EXPECT_EQ(str(m["module_type"]), "rawscript");
    ASSERT_TRUE(m["job"].IsString()) << g.body;
    // Each step is a job of its own, a child of the flow job.
    auto step = s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + std::string{m["job"].GetString()});
    ASSERT_EQ(step.status, 200) << step.body;
    auto sj = json_of(step.body);
    EXPECT_EQ(str(sj["parent_job"]), id);
    EXPECT_EQ(str(sj["status"]), "success");
  }
  EXPECT_EQ(fs["modules"][0]["result"].GetInt(), 6);
  EXPECT_EQ(fs["modules"][1]["result"]["sum"].GetInt(), 7);
  // A script job has no flow_status.
  push_script(s, t, "ws-a", "f/run/plain", "bash", "echo 1\n");
  auto plain = s.call(t, "POST", "/api/w/ws-a/jobs/run/p/f/run/plain", "{}");
  ASSERT_EQ(plain.status, 201);
  s.tree->wait(plain.body);
  EXPECT_FALSE(json_of(s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + plain.body).body)
                 .HasMember("flow_status"));
}

TEST(ApiFlows, PreviewFlowRunsAnInlineValueAndRefusesAnInvalidOne) {
  api_server s;
  auto t = s.user_token;
  auto r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/preview_flow",
                  R"({"value":)" + two_steps() + R"(,"args":{"n":50}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r.body)["sum"].GetInt(), 101);
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview_flow",
             R"({"value":)" + identity_flow() + R"(,"args":{"k":"v"},"path":"u/me/draft"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto done = s.tree->wait(r.body);
  EXPECT_EQ(done.status, actors::job_status::success);
  auto j = json_of(s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + r.body).body);
  EXPECT_EQ(str(j["job_kind"]), "flowpreview");
  EXPECT_EQ(str(j["script_path"]), "u/me/draft");
  EXPECT_EQ(str(j["result"]["k"]), "v") << "identity passes the flow input on";
  // Invalid values: nothing runs.
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/preview_flow",
             R"({"value":)" + value_of({bash_step("x", "echo 1\n"), bash_step("x", "echo 2\n")})
               + "}");
  ASSERT_EQ(r.status, 400) << r.body;
  j = json_of(r.body);
  EXPECT_EQ(str(j["error"]), "invalid_flow");
  EXPECT_TRUE(contains(str(j["message"]), "module 'x'")) << r.body;
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview_flow", R"({"args":{}})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(str(json_of(r.body)["field"]), "/value");
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview_flow", R"({"value":{"modules":[]},"args":[1]})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(str(json_of(r.body)["field"]), "/args");
}

TEST(ApiFlows, AnArchivedFlowDoesNotRun) {
  api_server s;
  auto t = s.user_token;
  create(s, t, "ws-a", "f/old/flow", identity_flow());
  auto r = s.call(t, "POST", "/api/w/ws-a/flows/archive/f/old/flow");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "\"archived\"");
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run/f/f/old/flow", "{}");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(str(json_of(r.body)["error"]), "not_found");
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/old/flow", "{}").status, 404);
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/flows/exists/f/old/flow").body, "false");
  auto g = s.call(t, "GET", "/api/w/ws-a/flows/get/f/old/flow");
  ASSERT_EQ(g.status, 200) << "an archived flow stays readable";
  EXPECT_TRUE(json_of(g.body)["archived"].GetBool());
  EXPECT_EQ(json_of(s.call(t, "GET", "/api/w/ws-a/flows/list").body).Size(), 0u);
  EXPECT_EQ(json_of(s.call(t, "GET", "/api/w/ws-a/flows/list?show_archived=true").body).Size(), 1u);
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/flows/archive/f/old/nope").status, 404);
  // Saving the path again brings it back.
  ASSERT_EQ(s.call(t, "POST", "/api/w/ws-a/flows/update/f/old/flow",
                   flow_doc("f/old/flow", identity_flow()))
              .status,
            201);
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/old/flow", R"({"n":1})").body,
            R"({"n":1})");
}

TEST(ApiFlows, AnotherWorkspacesFlowDoesNotExist) {
  api_server s;
  create(s, s.user_token, "ws-a", "f/iso/flow", identity_flow());
  auto id = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/f/f/iso/flow", "{}").body;
  s.tree->wait(id);
  auto b = s.user_b_token;
  // ws-b's own view: no such flow.
  EXPECT_EQ(s.call(b, "GET", "/api/w/ws-b/flows/get/f/iso/flow").status, 404);
  EXPECT_EQ(s.call(b, "GET", "/api/w/ws-b/flows/exists/f/iso/flow").body, "false");
  EXPECT_EQ(json_of(s.call(b, "GET", "/api/w/ws-b/flows/list").body).Size(), 0u);
  auto r = s.call(b, "POST", "/api/w/ws-b/jobs/run/f/f/iso/flow", "{}");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(str(json_of(r.body)["error"]), "not_found");
  EXPECT_EQ(s.call(b, "GET", "/api/w/ws-b/jobs_u/get/" + id).status, 404);
  // ws-a's routes with ws-b's token: 404 as if nothing were there.
  EXPECT_EQ(s.call(b, "GET", "/api/w/ws-a/flows/get/f/iso/flow").status, 404);
  EXPECT_EQ(s.call(b, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/iso/flow", "{}").status, 404);
  EXPECT_EQ(s.call(b, "POST", "/api/w/ws-a/flows/archive/f/iso/flow").status, 404);
  // ws-b may use the same path for a flow of its own.
  create(s, b, "ws-b", "f/iso/flow", two_steps());
  EXPECT_EQ(json_of(s.call(b, "POST", "/api/w/ws-b/jobs/run_wait_result/f/f/iso/flow", R"({"n":1})")
                      .body)["sum"]
              .GetInt(),
            3);
  EXPECT_EQ(json_of(s.call(s.user_token, "GET", "/api/w/ws-a/flows/history/p/f/iso/flow").body)
              .Size(),
            1u)
    << "ws-b's version is not ws-a's";
}

TEST(ApiFlows, AFlowsPriorityIsItsJobsAndItsStepsUnlessTheRunSetsOne) {
  api_server s;
  auto t = s.user_token;
  auto prioritized = std::string{R"({"priority":6,"modules":[)"} + bash_step("s", "echo 1") + "]}";
  create(s, t, "ws-a", "f/run/urgent", prioritized);
  auto priority = [&](const std::string& id) {
    auto j = json_of(s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + id).body);
    return j.HasMember("priority") && j["priority"].IsInt() ? j["priority"].GetInt() : -1;
  };
  // "flow job priority/step job priority"
  auto priorities = [&](const std::string& route, const std::string& body) {
    auto r = s.call(t, "POST", "/api/w/ws-a/jobs/run/" + route, body);
    EXPECT_EQ(r.status, 201) << r.body;
    s.tree->wait(r.body);
    auto j = json_of(s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + r.body).body);
    std::string step = j["flow_status"]["modules"][0]["job"].GetString();
    return std::to_string(priority(r.body)) + "/" + std::to_string(priority(step));
  };
  EXPECT_EQ(priorities("f/f/run/urgent", "{}"), "6/6") << "the flow's own";
  EXPECT_EQ(priorities("f/f/run/urgent?priority=2", "{}"), "2/2") << "the run's";
  EXPECT_EQ(priorities("preview_flow", R"({"value":)" + prioritized + "}"), "6/6");
  EXPECT_EQ(priorities("preview_flow", R"({"value":)" + value_of({bash_step("s", "echo 1")}) + "}"),
            "0/0");
}

} // namespace
} // namespace millrace::test
