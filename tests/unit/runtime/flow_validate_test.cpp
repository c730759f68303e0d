// Static checks on parsed flows (runtime/flow/validate.hpp): one test per
// rule, references against the caller's lookups, sub-flow cycles.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "runtime/flow/parse.hpp"
#include "runtime/flow/validate.hpp"

using namespace millrace::flow;

namespace {

std::string text(const std::vector<flow_error>& errors) {
  std::string out;
  for (auto& e : errors)
    out += to_string(e) + "\n";
  return out;
}

open_flow parsed(const std::string& modules_json, const std::string& extra = "") {
  auto r = parse_openflow(R"({"summary": "s", "value": {"modules": [)" + modules_json + "]"
                          + extra + "}}");
  EXPECT_TRUE(r.flow) << text(r.errors);
  return r.flow ? *r.flow : open_flow{};
}

/// The errors of a flow of these modules (JSON array elements).
std::vector<flow_error> check(const std::string& modules_json, const std::string& extra = "") {
  return validate(parsed(modules_json, extra));
}

/// Asserts exactly one error, and returns it.
flow_error one(const std::vector<flow_error>& errors) {
  EXPECT_EQ(errors.size(), 1u) << text(errors);
  return errors.empty() ? flow_error{} : errors.front();
}

const std::string ok_bash =
  R"({"id": "a", "value": {"type": "rawscript", "content": "echo 1", "language": "bash"}})";

std::string identity(const std::string& id, const std::string& options = "") {
  return R"({"id": ")" + id + R"(", "value": {"type": "identity"})" + options + "}";
}

} // namespace

TEST(FlowValidate, ValidFlowsHaveNoErrors) {
  EXPECT_TRUE(check("").empty());
  EXPECT_TRUE(check(ok_bash, R"(, "early_return": "a")").empty());
  EXPECT_TRUE(check(identity("a", R"(, "retry": {"constant": {"attempts": 100, "seconds": 86400},
                                   "exponential": {"attempts": 100, "multiplier": 1000,
                                                   "seconds": 86400, "random_factor": 100}},
                                   "timeout": 604800, "sleep": {"type": "static", "value": 0},
                                   "suspend": {"required_events": 100, "timeout": 2592000})"))
                .empty());
  // A javascript duration is checked when it runs; a static null is unset.
  EXPECT_TRUE(check(identity("a", R"(, "timeout": {"type": "javascript", "expr": "flow_input.t"},
                                   "sleep": {"type": "static", "value": null})"))
                .empty());
}

TEST(FlowValidate, DuplicateIdsAnywhere) {
  auto e = one(check(ok_bash + "," + R"({"id": "l", "value": {"type": "forloopflow",
      "iterator": {"type": "static", "value": [1]},
      "modules": [{"id": "a", "value": {"type": "identity"}}]}})"));
  EXPECT_EQ(e.module_id, "a");
  EXPECT_EQ(e.field, "value.modules[1].value.modules[0].id");
  EXPECT_EQ(e.message, "duplicate module id 'a' (also at value.modules[0])");

  e = one(check(R"({"id": "b", "value": {"type": "branchone", "branches": [], "default": [{"id": "x", "value": {"type": "identity"}}]}})",
                R"(, "failure_module": {"id": "x", "value": {"type": "identity"}})"));
  EXPECT_EQ(e.module_id, "x");
  EXPECT_EQ(e.field, "value.failure_module.id");

  e = one(check(identity("preprocessor"),
                R"(, "preprocessor_module": {"id": "preprocessor", "value": {"type": "identity"}})"));
  EXPECT_EQ(e.field, "value.preprocessor_module.id");
}

TEST(FlowValidate, InvalidIds) {
  for (const std::string& id :
       std::vector<std::string>{"", "A", "a-b", "a b", "é", std::string(65, 'a')}) {
    auto e = one(check(identity(id)));
    EXPECT_EQ(e.module_id, id);
    EXPECT_EQ(e.field, "value.modules[0].id");
    EXPECT_EQ(e.message, "invalid module id '" + id
                           + "': ids are 1 to 64 characters of a-z, 0-9 and _");
  }
  EXPECT_TRUE(check(identity(std::string(64, 'z')) + "," + identity("failure_2")).empty());
}

TEST(FlowValidate, RawscriptNeedsContentAndARunnableLanguage) {
  auto e = one(check(R"({"id": "a", "value": {"type": "rawscript", "content": "  ", "language": "bash"}})"));
  EXPECT_EQ(e.module_id, "a");
  EXPECT_EQ(e.field, "value.modules[0].value.content");
  EXPECT_EQ(e.message, "a rawscript module needs content (the script's code)");

  e = one(check(R"({"id": "a", "value": {"type": "rawscript", "content": "x"}})"));
  EXPECT_EQ(e.field, "value.modules[0].value.language");
  EXPECT_EQ(e.message, "a rawscript module needs a language (bash, python3)");

  e = one(check(identity("a") + "," + R"({"id": "b", "value": {"type": "rawscript", "content": "x", "language": "cobol"}})"));
  EXPECT_EQ(to_string(e), "module 'b': value.modules[1].value.language: unknown language 'cobol'");

  e = one(check(R"({"id": "d", "value": {"type": "rawscript", "content": "x", "language": "deno"}})"));
  EXPECT_EQ(e.module_id, "d");
  EXPECT_EQ(e.message, "language 'deno' is not supported by Millrace (supported: bash, python3)");
}

TEST(FlowValidate, ScriptAndFlowModulesNeedTheirTargets) {
  auto e = one(check(R"({"id": "s", "value": {"type": "script"}})"));
  EXPECT_EQ(e.module_id, "s");
  EXPECT_EQ(e.field, "value.modules[0].value.path");
  EXPECT_EQ(e.message, "a script module needs a path or a hash");

  e = one(check(R"({"id": "s", "value": {"type": "script", "path": "f/a/b", "hash": "12ab"}})"));
  EXPECT_EQ(e.field, "value.modules[0].value.hash");
  EXPECT_EQ(e.message, "hash '12ab' is not 16 hex digits");
  EXPECT_EQ(one(check(R"({"id": "s", "value": {"type": "script", "hash": "0123456789abcdeg"}})")).message,
            "hash '0123456789abcdeg' is not 16 hex digits");
  EXPECT_TRUE(check(R"({"id": "s", "value": {"type": "script", "hash": "0123456789ABCDEF"}})").empty());

  e = one(check(R"({"id": "f", "value": {"type": "flow"}})"));
  EXPECT_EQ(e.module_id, "f");
  EXPECT_EQ(e.field, "value.modules[0].value.path");
  EXPECT_EQ(e.message, "a flow module needs the path of the flow to run");
}

TEST(FlowValidate, RetryCaps) {
  struct c {
    const char* retry;
    const char* field;
    const char* message;
  };
  const c cases[] = {
    {R"({"constant": {"attempts": 101}})", "constant.attempts",
     "retry.constant.attempts must be at most 100 (got 101)"},
    {R"({"constant": {"attempts": -1}})", "constant.attempts",
     "retry.constant.attempts must not be negative (got -1)"},
    {R"({"constant": {"attempts": 1, "seconds": 86401}})", "constant.seconds",
     "retry.constant.seconds must be at most 86400 seconds (got 86401)"},
    {R"({"exponential": {"attempts": 101, "seconds": 1}})", "exponential.attempts",
     "retry.exponential.attempts must be at most 100 (got 101)"},
    {R"({"exponential": {"attempts": 1, "seconds": 86401}})", "exponential.seconds",
     "retry.exponential.seconds must be at most 86400 seconds (got 86401)"},
    {R"({"exponential": {"attempts": 1, "seconds": 0}})", "exponential.seconds",
     "retry.exponential.seconds must be at least 1 seconds (got 0)"},
    {R"({"exponential": {"attempts": 1, "seconds": 1, "multiplier": 0}})", "exponential.multiplier",
     "retry.exponential.multiplier must be at least 1 (got 0)"},
    {R"({"exponential": {"attempts": 1, "seconds": 1, "multiplier": 1001}})",
     "exponential.multiplier", "retry.exponential.multiplier must be at most 1000 (got 1001)"},
    {R"({"exponential": {"attempts": 1, "seconds": 1, "random_factor": 101}})",
     "exponential.random_factor", "retry.exponential.random_factor must be at most 100 (got 101)"},
    {R"({"exponential": {"attempts": 1, "seconds": 1, "random_factor": -5}})",
     "exponential.random_factor", "retry.exponential.random_factor must not be negative (got -5)"},
  };
  for (auto& k : cases) {
    auto e = one(check(identity("r", std::string{", \"retry\": "} + k.retry)));
    EXPECT_EQ(e.module_id, "r") << k.retry;
    EXPECT_EQ(e.field, std::string{"value.modules[0].retry."} + k.field) << k.retry;
    EXPECT_EQ(e.message, k.message) << k.retry;
  }
}

TEST(FlowValidate, DurationAndParallelismCaps) {
  auto e = one(check(identity("t", R"(, "timeout": {"type": "static", "value": 604801})")));
  EXPECT_EQ(e.module_id, "t");
  EXPECT_EQ(e.field, "value.modules[0].timeout");
  EXPECT_EQ(e.message, "timeout must be at most 604800 seconds (got 604801)");
  EXPECT_EQ(one(check(identity("t", R"(, "timeout": 0)"))).message,
            "timeout must be at least 1 seconds (got 0)");
  EXPECT_EQ(one(check(identity("t", R"(, "timeout": {"type": "static", "value": "soon"})"))).message,
            "timeout must be a number seconds");
  EXPECT_EQ(one(check(identity("t", R"(, "timeout": {"type": "javascript", "expr": " "})"))).message,
            "timeout has an empty javascript expression");

  e = one(check(identity("s", R"(, "sleep": {"type": "static", "value": 2592001})")));
  EXPECT_EQ(e.field, "value.modules[0].sleep");
  EXPECT_EQ(e.message, "sleep must be at most 2592000 seconds (got 2592001)");
  EXPECT_EQ(one(check(identity("s", R"(, "sleep": -1)"))).message,
            "sleep must not be negative (got -1)");

  auto loop = [](const std::string& parallelism) {
    return R"({"id": "l", "value": {"type": "forloopflow", "parallel": true,
               "iterator": {"type": "static", "value": [1, 2]}, "parallelism": )"
           + parallelism + "}}";
  };
  e = one(check(loop("257")));
  EXPECT_EQ(e.module_id, "l");
  EXPECT_EQ(e.field, "value.modules[0].value.parallelism");
  EXPECT_EQ(e.message, "value.parallelism must be at most 256 (got 257)");
  EXPECT_EQ(one(check(loop(R"({"type": "static", "value": 0})"))).message,
            "value.parallelism must be at least 1 (got 0)");
  EXPECT_EQ(one(check(loop("2.5"))).message, "value.parallelism must be an integer");
  EXPECT_TRUE(check(loop("256")).empty());
  EXPECT_TRUE(check(loop(R"({"type": "javascript", "expr": "flow_input.n"})")).empty());
}

TEST(FlowValidate, SuspendCaps) {
  auto e = one(check(identity("s", R"(, "suspend": {"required_events": 0})")));
  EXPECT_EQ(e.module_id, "s");
  EXPECT_EQ(e.field, "value.modules[0].suspend.required_events");
  EXPECT_EQ(e.message, "suspend.required_events must be at least 1 (got 0)");
  EXPECT_EQ(one(check(identity("s", R"(, "suspend": {"required_events": 101})"))).message,
            "suspend.required_events must be at most 100 (got 101)");
  e = one(check(identity("s", R"(, "suspend": {"timeout": 2592001})")));
  EXPECT_EQ(e.field, "value.modules[0].suspend.timeout");
  EXPECT_EQ(e.message, "suspend.timeout must be at most 2592000 seconds (got 2592001)");
  EXPECT_EQ(one(check(identity("s", R"(, "suspend": {"timeout": -3})"))).message,
            "suspend.timeout must not be negative (got -3)");
}

TEST(FlowValidate, NegativeCacheTtlAndPriority) {
  auto e = one(check(identity("c", R"(, "cache_ttl": -1)")));
  EXPECT_EQ(e.module_id, "c");
  EXPECT_EQ(e.field, "value.modules[0].cache_ttl");
  EXPECT_EQ(e.message, "cache_ttl must not be negative (got -1)");
  auto errors = check("", R"(, "cache_ttl": -2, "priority": -1)");
  ASSERT_EQ(errors.size(), 2u) << text(errors);
  EXPECT_EQ(errors[0].module_id, "");
  EXPECT_EQ(errors[0].field, "value.cache_ttl");
  EXPECT_EQ(errors[1].field, "value.priority");
  EXPECT_EQ(errors[1].message, "priority must not be negative (got -1)");
}

TEST(FlowValidate, PriorityAbove32767) {
  auto e = one(check(identity("c", R"(, "priority": 32768)")));
  EXPECT_EQ(e.module_id, "c");
  EXPECT_EQ(e.field, "value.modules[0].priority");
  EXPECT_EQ(e.message, "priority must be at most 32767 (got 32768)");
  e = one(check("", R"(, "priority": 40000)"));
  EXPECT_EQ(e.field, "value.priority");
  EXPECT_EQ(e.message, "priority must be at most 32767 (got 40000)");
  EXPECT_TRUE(check(identity("c", R"(, "priority": 32767)"), R"(, "priority": 0)").empty());
}

TEST(FlowValidate, NestingDepth) {
  // 17 nested loops: the innermost one is one level too deep.
  std::string modules = identity("leaf");
  for (int i = 17; i >= 1; --i)
    modules = R"({"id": "l)" + std::to_string(i)
              + R"(", "value": {"type": "whileloopflow", "modules": [)" + modules + "]}}";
  auto e = one(check(modules));
  EXPECT_EQ(e.module_id, "l17");
  EXPECT_EQ(e.message, "modules nest deeper than 16 levels of loops and branches");
  std::string path = "value.modules[0]";
  for (int i = 2; i <= 17; ++i)
    path += ".value.modules[0]";
  EXPECT_EQ(e.field, path);
}

TEST(FlowValidate, TotalModules) {
  std::string modules;
  for (int i = 0; i < 1001; ++i)
    modules += (i ? "," : "") + identity("m" + std::to_string(i));
  auto e = one(check(modules));
  EXPECT_EQ(e.module_id, "");
  EXPECT_EQ(e.field, "value.modules");
  EXPECT_EQ(e.message, "the flow has 1001 modules (counting nested ones); at most 1000");
}

TEST(FlowValidate, EarlyReturnNamesATopLevelModule) {
  auto e = one(check(R"({"id": "l", "value": {"type": "whileloopflow", "modules": [)"
                       + identity("inner") + "]}}",
                     R"(, "early_return": "inner")"));
  EXPECT_EQ(e.module_id, "");
  EXPECT_EQ(e.field, "value.early_return");
  EXPECT_EQ(e.message, "early_return names 'inner', which is not a top-level module");
}

TEST(FlowValidate, BranchesLoopsAndConditionsNeedExpressions) {
  auto e = one(check(R"({"id": "b", "value": {"type": "branchone", "branches": [
      {"expr": "true", "modules": []}, {"summary": "no predicate", "modules": []}]}})"));
  EXPECT_EQ(e.module_id, "b");
  EXPECT_EQ(e.field, "value.modules[0].value.branches[1].expr");
  EXPECT_EQ(e.message, "a branchone branch needs an expr (its predicate)");

  e = one(check(R"({"id": "l", "value": {"type": "forloopflow", "modules": []}})"));
  EXPECT_EQ(e.module_id, "l");
  EXPECT_EQ(e.field, "value.modules[0].value.iterator");
  EXPECT_EQ(e.message, "a forloopflow needs an iterator (the list to iterate over)");
  EXPECT_EQ(one(check(R"({"id": "l", "value": {"type": "forloopflow",
                         "iterator": {"type": "javascript", "expr": ""}}})")).field,
            "value.modules[0].value.iterator");
  // Empty bodies and branch lists are fine.
  EXPECT_TRUE(check(R"({"id": "l", "value": {"type": "forloopflow", "modules": [],
                        "iterator": {"type": "javascript", "expr": "[]"}}},
                       {"id": "w", "value": {"type": "whileloopflow", "modules": []}},
                       {"id": "b", "value": {"type": "branchall", "branches": []}})")
                .empty());

  e = one(check(identity("s", R"(, "stop_after_if": {"skip_if_stopped": true})")));
  EXPECT_EQ(e.field, "value.modules[0].stop_after_if.expr");
  EXPECT_EQ(e.message, "stop_after_if.expr is required");
  e = one(check(identity("s", R"(, "skip_if": {})")));
  EXPECT_EQ(e.field, "value.modules[0].skip_if.expr");
}

TEST(FlowValidate, FlowValueRootedPaths) {
  auto r = parse_flow_value(R"({"modules": [{"id": "B", "value": {"type": "identity"}}]})");
  ASSERT_TRUE(r.flow);
  auto e = one(validate(r.flow->value, ""));
  EXPECT_EQ(e.field, "modules[0].id");
}

TEST(FlowValidate, CollectReferences) {
  auto f = parsed(R"({"id": "a", "value": {"type": "script", "path": "f/x/y"}},
                    {"id": "b", "value": {"type": "script", "path": "f/x/old", "hash": "0123456789abcdef"}},
                    {"id": "c", "value": {"type": "flow", "path": "f/sub"}},
                    {"id": "l", "value": {"type": "forloopflow", "iterator": {"type": "static", "value": []},
                      "modules": [{"id": "d", "value": {"type": "script", "path": "f/x/y"}},
                                  {"id": "e", "value": {"type": "flow", "path": "f/sub"}},
                                  {"id": "g", "value": {"type": "script", "path": "f/x/z"}}]}})",
                 R"(, "failure_module": {"id": "failure", "value": {"type": "flow", "path": "f/on_error"}})");
  auto refs = collect_references(f);
  EXPECT_EQ(refs.script_paths, (std::vector<std::string>{"f/x/y", "f/x/z"}));
  EXPECT_EQ(refs.script_hashes, (std::vector<std::string>{"0123456789abcdef"}));
  EXPECT_EQ(refs.flow_paths, (std::vector<std::string>{"f/sub", "f/on_error"}));
}

TEST(FlowValidate, CheckReferences) {
  auto f = parsed(identity("a") + R"(,
                    {"id": "b", "value": {"type": "script", "hash": "00000000000000ff"}},
                    {"id": "c", "value": {"type": "script", "path": "f/x/y"}},
                    {"id": "d", "value": {"type": "script", "path": "f/x/y"}},
                    {"id": "e", "value": {"type": "script", "path": "f/x/ok"}},
                    {"id": "h", "value": {"type": "script", "path": "hub/123/slack"}},
                    {"id": "s", "value": {"type": "flow", "path": "f/missing"}})");
  std::map<std::string, int> asked;
  auto errors = check_references(
    f,
    [&](const std::string& p) { ++asked["path:" + p]; return p == "f/x/ok"; },
    [&](const std::string& h) { ++asked["hash:" + h]; return false; },
    [&](const std::string& p) { ++asked["flow:" + p]; return false; });
  ASSERT_EQ(errors.size(), 5u) << text(errors);
  EXPECT_EQ(to_string(errors[0]),
            "module 'b': value.modules[1].value.hash: script hash '00000000000000ff' does not exist");
  EXPECT_EQ(to_string(errors[1]), "module 'c': value.modules[2].value.path: script 'f/x/y' does not exist");
  EXPECT_EQ(errors[2].module_id, "d");
  EXPECT_EQ(errors[3].message,
            "script 'hub/123/slack' does not exist (Millrace has no Hub: deploy the script first)");
  EXPECT_EQ(to_string(errors[4]), "module 's': value.modules[6].value.path: flow 'f/missing' does not exist");
  EXPECT_EQ(asked["path:f/x/y"], 1); // asked once per distinct path
  EXPECT_TRUE(check_references(f, [](auto&) { return true; }, [](auto&) { return true; },
                               [](auto&) { return true; })
                .empty());
}

TEST(FlowValidate, FindCycle) {
  std::map<std::string, std::vector<std::string>> graph{
    {"f/a", {"f/b", "f/c"}}, {"f/b", {"f/d"}}, {"f/c", {"f/d"}}, {"f/d", {}},
  };
  std::set<std::string> expanded;
  auto subflows = [&](const std::string& p) {
    EXPECT_TRUE(expanded.insert(p).second) << p << " asked twice";
    return graph[p];
  };
  EXPECT_FALSE(find_cycle("f/a", subflows)); // a diamond is no cycle

  graph["f/d"] = {"f/a"};
  expanded.clear();
  auto cycle = find_cycle("f/a", subflows);
  ASSERT_TRUE(cycle);
  EXPECT_EQ(cycle_to_string(*cycle), "f/a -> f/b -> f/d -> f/a");

  graph = {{"f/a", {"f/b"}}, {"f/b", {"f/c"}}, {"f/c", {"f/b"}}};
  expanded.clear();
  cycle = find_cycle("f/a", subflows);
  ASSERT_TRUE(cycle);
  EXPECT_EQ(*cycle, (std::vector<std::string>{"f/a", "f/b", "f/c", "f/b"}));

  graph = {{"f/self", {"f/self"}}};
  expanded.clear();
  cycle = find_cycle("f/self", subflows);
  ASSERT_TRUE(cycle);
  EXPECT_EQ(cycle_to_string(*cycle), "f/self -> f/self");
}

TEST(FlowValidate, APreprocessorIsOneScriptThatAlwaysRuns) {
  auto pre = [](const std::string& value, const std::string& options = "") {
    return check(identity("a"), R"(, "preprocessor_module": {"id": "preprocessor", "value": )"
                                  + value + options + "}");
  };
  EXPECT_TRUE(pre(R"({"type": "rawscript", "content": "echo {}", "language": "bash"})").empty());
  EXPECT_TRUE(pre(R"({"type": "identity"})", R"(, "retry": {"constant": {"attempts": 2}})").empty());
  auto e = one(pre(R"({"type": "flow", "path": "f/sub/flow"})"));
  EXPECT_EQ(e.module_id, "preprocessor");
  EXPECT_EQ(e.field, "value.preprocessor_module.value.type");
  EXPECT_EQ(e.message, "a preprocessor must be a rawscript, script or identity module (it turns a "
                       "trigger's event into the flow's inputs), not a flow");
  e = one(pre(R"({"type": "identity"})", R"(, "suspend": {"required_events": 1})"));
  EXPECT_EQ(e.field, "value.preprocessor_module.suspend");
  EXPECT_EQ(e.message, "a preprocessor cannot wait for approvals: the flow has no inputs yet");
  e = one(pre(R"({"type": "identity"})", R"(, "skip_if": {"expr": "true"})"));
  EXPECT_EQ(e.field, "value.preprocessor_module.skip_if");
  e = one(pre(R"({"type": "identity"})", R"(, "stop_after_if": {"expr": "true"})"));
  EXPECT_EQ(e.field, "value.preprocessor_module.stop_after_if");
}

TEST(FlowValidate, APreprocessorsErrorIsNeverTheFlowsInput) {
  auto e = one(check(identity("a"), R"(, "preprocessor_module": {"id": "preprocessor",
                                      "value": {"type": "identity"}, "continue_on_error": true})"));
  EXPECT_EQ(e.field, "value.preprocessor_module.continue_on_error");
}
