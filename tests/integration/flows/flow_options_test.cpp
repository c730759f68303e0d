// Options of a whole flow (not of one module), end to end: skip_expr decides
// on the flow's input whether anything runs; same_worker runs every script
// step on one node, sharing ./shared; priority is its steps' (a module's
// own priority first).

#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/integration/flows/flows_support.hpp"
#include "tests/support/system_helpers.hpp"

using namespace millrace;
using namespace millrace::actors;
using namespace millrace::test::flows;
using test::job_tree;
using namespace std::chrono_literals;

namespace {

std::string skippable(const std::string& skip_expr) {
  return std::string{R"({"modules":[)"} + bash_step("a", "echo 7") + R"(],"skip_expr":")"
         + skip_expr + "\"}";
}

TEST(FlowOptions, SkipExprSkipsTheWholeFlowWhenItHolds) {
  job_tree t{with_flows()};
  db_view db{t.conninfo()};
  auto skipped = t.submit(flow(skippable("flow_input.off === true"), R"({"off":true})"));
  auto r = t.wait(skipped);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "null");
  EXPECT_TRUE(db.steps(skipped).empty()) << "no step ran";
  auto fs = db.flow_status(skipped);
  EXPECT_TRUE(contains(fs, R"("skipped": true)") || contains(fs, R"("skipped":true)")) << fs;
  EXPECT_TRUE(contains(fs, "WaitingForPriorSteps")) << fs;

  auto ran = t.submit(flow(skippable("flow_input.off === true"), R"({"off":false})"));
  r = t.wait(ran);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "7");
  EXPECT_EQ(db.steps(ran).size(), 1u);
  EXPECT_FALSE(contains(db.flow_status(ran), "skipped")) << db.flow_status(ran);
}

TEST(FlowOptions, ASkipExprThatFailsFailsTheFlowNamingIt) {
  job_tree t{with_flows()};
  db_view db{t.conninfo()};
  auto id = t.submit(flow(skippable("flow_input.missing.deeper"), "{}"));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, "ExpressionError")) << r.result;
  EXPECT_TRUE(contains(r.result, "skip_expr")) << r.result;
  EXPECT_TRUE(contains(r.result, "flow_input.missing.deeper")) << r.result;
  EXPECT_TRUE(db.steps(id).empty()) << "no step ran";
}

std::string shared_log_flow(bool same_worker) {
  std::string loop =
    R"({"id":"l","value":{"type":"forloopflow","iterator":{"type":"static","value":[1,2]},)"
    R"("modules":[)"
    + bash_step("x", "n=\"$1\"\necho \"it $n\" >> ./shared/log\necho ok",
                R"({"n":{"type":"javascript","expr":"flow_input.iter.value"}})")
    + "]}}";
  return R"({"modules":[)" + bash_step("a", "mkdir -p shared\necho start > ./shared/log\necho ok")
         + "," + loop + ","
         + bash_step("c", "if [ -f ./shared/log ]; then paste -sd' ' ./shared/log; else echo none; fi")
         + R"(],"same_worker":)" + (same_worker ? "true" : "false") + "}";
}

TEST(FlowOptions, SameWorkerStepsShareAFolderOnOneNodeRemovedWhenTheFlowEnds) {
  job_tree t{with_flows()};
  db_view db{t.conninfo()};
  auto id = t.submit(flow(shared_log_flow(true)));
  auto r = t.wait(id);
  ASSERT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, R"("start it 1 it 2")") << "each step, the loop's too, saw what the "
                                                  "earlier ones wrote";
  auto fs = db.flow_status(id);
  EXPECT_TRUE(contains(fs, R"("worker_node": "test")") || contains(fs, R"("worker_node":"test")"))
    << fs;
  auto pinned = db.c.query("SELECT count(*) FROM job WHERE parent_job = $1 AND worker_node = 'test'",
                           {id});
  EXPECT_EQ(pinned.rows[0][0].text, "4") << "a, both iterations of x, and c";
  // The folder was made under the node's root (the launcher made the root
  // with it), and the node removes it once the flow ended (a message after
  // the flow's completion, then a detached remover): bounded wait.
  ASSERT_TRUE(std::filesystem::is_directory(t.shared_root())) << t.shared_root();
  EXPECT_TRUE(test::eventually([&] { return std::filesystem::is_empty(t.shared_root()); }, 10s))
    << t.shared_root() + "/" + id << " is still there";
}

TEST(FlowOptions, AFolderOfAFlowThatEndedWhileItsNodeWasAwayGoesWhenTheNodeJoins) {
  char tmpl[] = "/tmp/millrace-shared-sweep-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  const std::string ended = root + "/0190f1a2-0000-7000-8000-0000000000e1"; // no such job
  std::filesystem::create_directories(ended + "/data");
  std::filesystem::create_directory(root + "/not-a-flow");
  auto opts = with_flows();
  opts.shared_root = root;
  {
    job_tree t{opts};
    EXPECT_TRUE(test::eventually([&] { return !std::filesystem::exists(ended); }, 10s))
      << ended << " is still there";
    EXPECT_TRUE(std::filesystem::is_directory(root + "/not-a-flow")) << "not a flow's: kept";
  }
  std::filesystem::remove_all(root);
}

TEST(FlowOptions, ASameWorkerFlowWithoutScriptStepsTakesNoNode) {
  job_tree t{with_flows()};
  db_view db{t.conninfo()};
  auto id = t.submit(flow(R"({"modules":[{"id":"a","value":{"type":"identity"}}],"same_worker":true})",
                          R"({"x":1})"));
  auto r = t.wait(id);
  ASSERT_EQ(r.status, job_status::success) << r.result;
  EXPECT_FALSE(contains(db.flow_status(id), "worker_node")) << "nothing runs as a process";

  // Nor does one whose only process is its preprocessor: it runs before the
  // pick, on any node.
  auto pre = t.submit(flow(R"({"modules":[{"id":"a","value":{"type":"identity"}}],)"
                           R"("same_worker":true,"preprocessor_module":)"
                           + bash_step("preprocessor", "echo '{\"x\": 1}'") + "}",
                           R"({"event":{}})"));
  r = t.wait(pre);
  ASSERT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, R"({"x": 1})");
  EXPECT_FALSE(contains(db.flow_status(pre), "worker_node")) << db.flow_status(pre);
}

// A stored script without tag_override queues on its language's default
// tag: the node is picked for that tag too (read from the script), so a
// flow no node can run whole fails before any step, naming the tag.
TEST(FlowOptions, SameWorkerCountsTheTagOfAStoredScriptsLanguage) {
  auto opts = with_flows();
  opts.tags = {"bash", "noop"}; // no python3 slot on the only node
  job_tree t{opts};
  db_view db{t.conninfo()};
  db.c.query("INSERT INTO script_version (workspace_id, hash, path, language, content, schema, "
             "created_by) VALUES ('admins', '00000000000000a1', 'f/sw/py', 'python3', "
             "'def main():\n    return 1\n', '{}', 'test')",
             {});
  db.c.query("INSERT INTO script (workspace_id, path, hash) VALUES ('admins', 'f/sw/py', "
             "'00000000000000a1')",
             {});
  auto id = t.submit(flow(R"({"modules":[)" + bash_step("a", "echo 1") +
                          R"(,{"id":"b","value":{"type":"script","path":"f/sw/py"}}],)"
                          R"("same_worker":true})"));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, "NoWorkerNode")) << r.result;
  EXPECT_TRUE(contains(r.result, "serves all of: bash, python3")) << r.result;
  EXPECT_TRUE(db.steps(id).empty()) << "step a did not run on a node that cannot run b";
}

TEST(FlowOptions, WithoutSameWorkerAStepSeesNoSharedFolder) {
  job_tree t{with_flows()};
  db_view db{t.conninfo()};
  auto id = t.submit(flow(shared_log_flow(false)));
  auto r = t.wait(id);
  ASSERT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, R"("none")") << "each step's own ./shared went with its sandbox";
  EXPECT_FALSE(contains(db.flow_status(id), "worker_node"));
}

std::string with_priority(std::string module, int priority) {
  module.pop_back(); // the module object's closing brace
  return module + R"(,"priority":)" + std::to_string(priority) + "}";
}

std::string prioritized_flow() {
  std::string loop =
    R"({"id":"l","value":{"type":"forloopflow","iterator":{"type":"static","value":[1]},)"
    R"("modules":[)"
    + with_priority(bash_step("x", "echo x"), 9) + "]}}";
  return R"({"modules":[)" + bash_step("a", "echo a") + "," + loop + ","
         + with_priority(bash_step("b", "echo b"), 42) + "]}";
}

// Each step job's result (its name) and priority, by name.
std::string step_priorities(db_view& db, const std::string& flow_id) {
  auto rs = db.c.query("SELECT c.result::text, j.priority FROM job j JOIN job_completed c "
                       "ON c.job_id = j.id WHERE j.parent_job = $1 ORDER BY 1",
                       {flow_id});
  std::string out;
  for (auto& row : rs.rows)
    out += row[0].text + "=" + row[1].text + " ";
  return out;
}

TEST(FlowOptions, StepsTakeTheirModulesPriorityElseTheFlowJobs) {
  // (A flow's own `priority` becomes its job's in the API: ApiFlows.)
  job_tree t{with_flows()};
  db_view db{t.conninfo()};
  auto spec = flow(prioritized_flow());
  spec.priority = 3;
  auto id = t.submit(spec);
  auto r = t.wait(id);
  ASSERT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(step_priorities(db, id), R"("a"=3 "b"=42 "x"=9 )")
    << "a: the flow job's priority; x (in a loop) and b: their own";
}

} // namespace
