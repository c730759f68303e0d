// Approval steps (`suspend`) over HTTP: a flow waits after the step with
// WaitingForEvents in its status; signed resume URLs (resume_urls,
// job_signature) count once per resume id; a bad signature, a used resume id,
// a foreign workspace and a payload that is not JSON are refused; the
// payloads and approvers reach later steps; a cancel ends the flow canceled
// with nothing after it; a timeout fails the step (or goes on with
// continue_on_disapprove_timeout); the owner's jobs/flow/resume; and the
// checks of user_auth_required, self_approval_disabled and
// user_groups_required; flows waiting for approval do not count against
// flows.slots.

#include <thread>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/protocol/types/job.hpp"
#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

std::string str(const rapidjson::Value& v) { return v.IsString() ? v.GetString() : "<not a string>"; }

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

/// Step `a` (bash, prints 5) waits for approvals (`suspend` as given), then
/// step `b` returns what it sees: resume, resumes, approvers, results.a.
std::string approval_flow(const std::string& suspend) {
  return R"({"modules":[)"
         R"({"id":"a","value":{"type":"rawscript","language":"bash","content":"echo 5\n",)"
         R"("input_transforms":{}},"suspend":)"
         + suspend
         + R"(},{"id":"b","value":{"type":"identity"}},)"
           R"({"id":"c","value":{"type":"rawscript","language":"bash",)"
           R"("content":"seen=\"$1\"\necho \"$seen\"\n","input_transforms":{"seen":{"type":"javascript",)"
           R"x("expr":"JSON.stringify({resume, resumes, approvers, a: results.a})"}}}}]})x";
}

/// Starts the flow as `token`; returns its job id.
std::string start(const api_server& s, const std::string& token, const std::string& value) {
  auto r = s.call(token, "POST", "/api/w/ws-a/jobs/run/preview_flow",
                  R"({"value":)" + value + R"(,"args":{}})");
  EXPECT_EQ(r.status, 201) << r.body;
  return r.body;
}

/// Polls jobs_u/get until module 0 of the flow waits for events (or 20 s);
/// returns the waiting step's job id.
std::string wait_for_approval(const api_server& s, const std::string& flow) {
  for (int i = 0; i < 400; ++i) {
    auto g = s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/get/" + flow);
    if (g.status != 200) {
      ADD_FAILURE() << "jobs_u/get/" << flow << ": " << g.status << " " << g.body;
      return {};
    }
    auto j = json_of(g.body);
    if (j.HasMember("flow_status") && j["flow_status"]["modules"].IsArray()) {
      auto& m = j["flow_status"]["modules"][0];
      if (m.HasMember("type") && str(m["type"]) == "WaitingForEvents")
        return str(m["job"]);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  ADD_FAILURE() << "flow " << flow << " never waited for approvals";
  return {};
}

/// What step c printed: the JSON text of {resume, resumes, approvers, a}.
rapidjson::Document seen_of(const std::string& result) {
  auto d = json_of(result);
  if (d.IsString())
    return json_of(d.GetString());
  return d;
}

struct urls {
  std::string resume, cancel;
};

/// The signed URLs for (job, resume id, approver), as paths on the server.
urls urls_of(const api_server& s, const std::string& job, int resume_id, const std::string& who) {
  auto r = s.call(s.user_token, "GET",
                  "/api/w/ws-a/jobs/resume_urls/" + job + "/" + std::to_string(resume_id)
                    + "?approver=" + who);
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = json_of(r.body);
  auto path = [](const std::string& url) { return url.substr(url.find("/api/")); };
  EXPECT_EQ(str(j["approvalPage"]), str(j["resume"]));
  return {path(str(j["resume"])), path(str(j["cancel"]))};
}

TEST(ApiFlowResume, ApprovalsCountOncePerResumeIdAndReachLaterSteps) {
  api_server s;
  auto flow = start(s, s.user_token, approval_flow(R"({"required_events":2,"timeout":120})"));
  auto job = wait_for_approval(s, flow);
  ASSERT_EQ(job.size(), 36u);
  auto g = json_of(s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/get/" + flow).body);
  EXPECT_EQ(g["flow_status"]["modules"][0]["suspend"]["required_events"].GetInt(), 2);
  EXPECT_EQ(str(g["status"]), "running");

  auto alice = urls_of(s, job, 7, "alice");
  // Tampered: another approver, another resume id, another job.
  auto bad = alice.resume;
  bad.replace(bad.find("approver=alice"), 14, "approver=mallory");
  auto r = s.call("", "POST", bad, R"({"ok":true})");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(str(json_of(r.body)["error"]), "invalid_signature");
  r = s.call("", "GET", alice.resume.substr(0, alice.resume.find("/7/")) + "/8/"
                          + alice.resume.substr(alice.resume.find("/7/") + 3));
  EXPECT_EQ(r.status, 401) << r.body;
  r = s.call("", "POST", alice.resume, "{not json");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(contains(json_of(r.body)["message"].GetString(), "not JSON")) << r.body;
  // Another workspace's route with a valid signature finds no such step.
  auto other = alice.resume;
  other.replace(other.find("/w/ws-a/"), 8, "/w/ws-b/");
  r = s.call("", "POST", other, "{}");
  EXPECT_EQ(r.status, 404) << r.body;

  r = s.call("", "POST", alice.resume, R"({"ok":"alice"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_of(r.body);
  EXPECT_EQ(j["approvals"].GetInt(), 1);
  EXPECT_EQ(j["required_events"].GetInt(), 2);
  EXPECT_EQ(str(j["flow_job_id"]), flow);
  // The same resume id again does not count twice.
  r = s.call("", "POST", alice.resume, R"({"ok":"again"})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(str(json_of(r.body)["error"]), "resume_id_used");
  // Still waiting, alice listed.
  for (int i = 0; i < 100; ++i) {
    g = json_of(s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/get/" + flow).body);
    if (g["flow_status"]["modules"][0].HasMember("approvers"))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  auto& m0 = g["flow_status"]["modules"][0];
  EXPECT_EQ(str(m0["type"]), "WaitingForEvents");
  ASSERT_TRUE(m0.HasMember("approvers") && m0["approvers"].Size() == 1u) ;
  EXPECT_EQ(str(m0["approvers"][0]["approver"]), "alice");

  // The second approver, with a GET and a ?payload=.
  auto bob = urls_of(s, job, 9, "bob");
  r = s.call("", "GET", bob.resume + "&payload=%7B%22ok%22%3A%22bob%22%7D");
  ASSERT_EQ(r.status, 200) << r.body;
  auto done = s.tree->wait(flow);
  ASSERT_EQ(done.status, actors::job_status::success) << done.result;
  auto seen = seen_of(done.result);
  EXPECT_EQ(str(seen["resume"]["ok"]), "bob");
  ASSERT_TRUE(seen["resumes"].IsArray() && seen["resumes"].Size() == 2u) << done.result;
  EXPECT_EQ(str(seen["resumes"][0]["ok"]), "alice");
  EXPECT_EQ(str(seen["approvers"][0]), "alice");
  EXPECT_EQ(str(seen["approvers"][1]), "bob");
  EXPECT_EQ(seen["a"].GetInt(), 5);
  // After the end: refused, naming why.
  auto carol = urls_of(s, job, 11, "carol");
  r = s.call("", "POST", carol.resume, "{}");
  EXPECT_EQ(r.status, 409) << r.body;
}

TEST(ApiFlowResume, ACancelEndsTheFlowCanceledAndRunsNothingAfter) {
  api_server s;
  auto flow = start(s, s.user_token, approval_flow(R"({"required_events":1,"timeout":120})"));
  auto job = wait_for_approval(s, flow);
  auto u = urls_of(s, job, 1, "dave");
  auto r = s.call("", "POST", u.cancel, R"({"why":"no"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json_of(r.body)["canceled"].GetBool());
  auto done = s.tree->wait(flow);
  EXPECT_EQ(done.status, actors::job_status::canceled) << done.result;
  auto g = json_of(s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/get/" + flow).body);
  EXPECT_EQ(str(g["canceled_by"]), "dave");
  EXPECT_TRUE(contains(str(g["canceled_reason"]), "approval step 'a'")) << str(g["canceled_reason"]);
  auto steps = s.sql("SELECT count(*) FROM job WHERE parent_job = $1::uuid", {flow});
  EXPECT_EQ(steps.rows[0][0].text, "1") << "only step a ran";
}

TEST(ApiFlowResume, ATimeoutFailsTheStepOrGoesOnWhenAskedTo) {
  api_server s;
  auto flow = start(s, s.user_token, approval_flow(R"({"timeout":1})"));
  auto done = s.tree->wait(flow);
  EXPECT_EQ(done.status, actors::job_status::failure);
  EXPECT_TRUE(contains(done.result, "ApprovalTimeout")) << done.result;
  EXPECT_TRUE(contains(done.result, "0 of 1 approvals")) << done.result;

  flow = start(s, s.user_token,
               approval_flow(R"({"timeout":1,"continue_on_disapprove_timeout":true})"));
  done = s.tree->wait(flow);
  ASSERT_EQ(done.status, actors::job_status::success) << done.result;
  auto seen = seen_of(done.result);
  ASSERT_TRUE(seen.IsObject() && seen.HasMember("resume") && seen["resume"].IsObject())
    << done.result;
  EXPECT_EQ(str(seen["resume"]["name"]), "ApprovalTimeout") << done.result;
}

TEST(ApiFlowResume, TheOwnerResumesWithATokenOthersCannot) {
  api_server s;
  auto flow = start(s, s.user_token,
                    approval_flow(R"({"timeout":120,"user_auth_required":true,)"
                                  R"("self_approval_disabled":false})"));
  auto job = wait_for_approval(s, flow);
  // user_auth_required: the signed URL alone is not enough.
  auto u = urls_of(s, job, 3, "erin");
  auto r = s.call("", "POST", u.resume, "{}");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_TRUE(contains(r.body, "jobs/flow/resume/" + flow)) << r.body;
  // Another user of the workspace is not the flow's creator.
  auto t = s.call(s.admin_token, "POST", "/api/w/ws-a/tokens/create", R"({"label":"frank"})");
  ASSERT_EQ(t.status, 201) << t.body;
  auto frank = str(json_of(t.body)["token"]);
  r = s.call(frank, "POST", "/api/w/ws-a/jobs/flow/resume/" + flow, R"({"by":"frank"})");
  EXPECT_EQ(r.status, 403) << r.body;
  // Another workspace's user finds nothing.
  r = s.call(s.user_b_token, "POST", "/api/w/ws-b/jobs/flow/resume/" + flow, "{}");
  EXPECT_EQ(r.status, 409) << r.body;
  // The creator can.
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/flow/resume/" + flow, R"({"by":"owner"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(json_of(r.body)["approver"]), "user a");
  auto done = s.tree->wait(flow);
  ASSERT_EQ(done.status, actors::job_status::success) << done.result;
  EXPECT_EQ(str(seen_of(done.result)["resume"]["by"]), "owner");
  // Nothing waits any more.
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/flow/resume/" + flow, "{}");
  EXPECT_EQ(r.status, 409) << r.body;
}

TEST(ApiFlowResume, FlowsWaitingForApprovalDoNotHoldBackOthers) {
  api_server s{std::chrono::seconds{20}, 1}; // flows.slots = 1
  auto first = start(s, s.user_token, approval_flow(R"({"timeout":120})"));
  auto a = wait_for_approval(s, first);
  auto second = start(s, s.user_token, approval_flow(R"({"timeout":120})"));
  auto b = wait_for_approval(s, second);
  // Both wait for a person; a third flow still runs at once.
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run_wait_result/preview_flow",
                  R"({"value":{"modules":[{"id":"x","value":{"type":"identity"}}]},"args":{}})");
  EXPECT_EQ(r.status, 200) << r.body;
  for (auto& [flow, job] : {std::pair{first, a}, std::pair{second, b}}) {
    auto u = urls_of(s, job, 1, "erin");
    ASSERT_EQ(s.call("", "POST", u.resume, "{}").status, 200);
    EXPECT_EQ(s.tree->wait(flow).status, actors::job_status::success);
  }
}

TEST(ApiFlowResume, SelfApprovalCanBeDisabledAndGroupsAreRefusedAtSave) {
  api_server s;
  auto flow = start(s, s.user_token,
                    approval_flow(R"({"timeout":120,"self_approval_disabled":true})"));
  wait_for_approval(s, flow);
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/flow/resume/" + flow, "{}");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_TRUE(contains(r.body, "creator")) << r.body;
  // An admin (not the creator) may.
  r = s.call(s.admin_token, "POST", "/api/w/ws-a/jobs/flow/resume/" + flow, "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(s.tree->wait(flow).status, actors::job_status::success);

  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/preview_flow",
             R"({"value":)"
               + approval_flow(R"({"user_groups_required":{"type":"static","value":["ops"]}})")
               + "}");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(contains(r.body, "user_groups_required")) << r.body;
  EXPECT_TRUE(contains(r.body, "module 'a'")) << r.body;
  // An empty group list means nothing and is accepted.
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/preview_flow",
             R"({"value":)"
               + approval_flow(R"({"timeout":1,"user_groups_required":{"type":"static","value":[]}})")
               + "}");
  EXPECT_EQ(r.status, 201) << r.body;
}

} // namespace
} // namespace millrace::test
