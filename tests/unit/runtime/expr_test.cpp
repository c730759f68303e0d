// The JavaScript expression evaluator (runtime/expr): the native fast path
// for plain property paths, and node for everything else, with its time and
// memory limits, crash recovery and pipelining.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/expr/evaluator.hpp"

using namespace millrace::expr;
using namespace std::chrono_literals;

namespace {

const char* const scope = R"({
  "flow_input": {"x": 41, "name": "world", "iter": {"value": 7, "index": 0}, "nothing": null},
  "results": {"a": {"b": [10, 20]}, "my-step": "done", "list": [1, 2, 3], "n": 5},
  "previous_result": {"ok": true}
})";

outcome fast(const std::string& expr) {
  auto o = evaluator::fast_path(expr, scope);
  EXPECT_TRUE(o.has_value()) << expr;
  return o.value_or(outcome{});
}

std::string value_of(const outcome& o) {
  EXPECT_TRUE(o.ok) << o.error;
  return o.value_json;
}

TEST(ExprFastPath, ResolvesPlainPaths) {
  EXPECT_EQ(value_of(fast("flow_input.x")), "41");
  EXPECT_EQ(value_of(fast("results.a.b[0]")), "10");
  EXPECT_EQ(value_of(fast("  results.a.b[1]\n")), "20");
  EXPECT_EQ(value_of(fast("previous_result")), R"({"ok":true})");
  EXPECT_EQ(value_of(fast("flow_input.iter.value")), "7");
  EXPECT_EQ(value_of(fast(R"(results["my-step"])")), R"("done")");
  EXPECT_EQ(value_of(fast("results['a'].b")), "[10,20]");
  EXPECT_EQ(value_of(fast("results.list.length")), "3");
  EXPECT_EQ(value_of(fast("flow_input.nothing")), "null");
}

TEST(ExprFastPath, MissingPropertiesAreNullWhereJavaScriptDoesNotThrow) {
  EXPECT_EQ(value_of(fast("flow_input.missing")), "null");
  EXPECT_EQ(value_of(fast("results.a.b[5]")), "null");
  EXPECT_EQ(value_of(fast("results.zzz")), "null");
}

TEST(ExprFastPath, ReportsTheErrorsJavaScriptWouldThrow) {
  auto o = fast("flow_input.missing.x");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("Cannot read properties of undefined (reading 'x')"), std::string::npos)
    << o.error;
  EXPECT_NE(o.error.find("`flow_input.missing.x`"), std::string::npos) << o.error;
  o = fast("flow_input.nothing.y");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("Cannot read properties of null (reading 'y')"), std::string::npos)
    << o.error;
  o = fast("nope.x");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("nope is not defined"), std::string::npos) << o.error;
  EXPECT_EQ(o.error.rfind("expression error: ", 0), 0u) << o.error;
}

TEST(ExprFastPath, LeavesEverythingElseToJavaScript) {
  for (const char* expr :
       {"flow_input.x + 1", "results.list.map(x => x)", "flow_input.name.length",
        "flow_input?.x", "results[0 + 1]", "results.a.b[01]", "Math.PI", "undefined", "true",
        "this", "results.list.foo", "flow_input.toString", "results[\"a\\\"b\"]", "f()",
        "flow_input.x.y", "constructor", "", "results.a.b[-1]"})
    EXPECT_FALSE(evaluator::fast_path(expr, scope).has_value()) << expr;
}

class ExprNode : public ::testing::Test {
protected:
  outcome eval(const std::string& expr, std::chrono::milliseconds timeout = {}) {
    return ev.evaluate_sync(expr, scope, timeout);
  }
  std::string value(const std::string& expr) {
    return value_of(eval(expr));
  }
  evaluator ev{evaluator_config{"node", 64, 5000ms}};
};

TEST_F(ExprNode, EvaluatesModernJavaScript) {
  EXPECT_EQ(value("flow_input.x + 1"), "42");
  EXPECT_EQ(value("results.list.map(x => x * 2)"), "[2,4,6]");
  EXPECT_EQ(value("results.list.filter(x => x > 1).reduce((a, b) => a + b, 0)"), "5");
  EXPECT_EQ(value("`hello ${flow_input.name}`"), R"("hello world")");
  EXPECT_EQ(value("results.b?.c ?? 3"), "3");
  EXPECT_EQ(value("flow_input.nothing?.y"), "null");
  EXPECT_EQ(value("{a: 1, b: [flow_input.x]}"), R"({"a":1,"b":[41]})");
  EXPECT_EQ(value("const a = results.n * 2;\nlet b = a + 1;\nb"), "11");
  EXPECT_EQ(value("undefined"), "null");
  EXPECT_EQ(value("results.n > 3 // a branch predicate"), "true");
  EXPECT_EQ(value("flow_input.name.length"), "5");
}

TEST_F(ExprNode, EvaluationsDoNotShareState) {
  EXPECT_EQ(value("globalThis.leak = 1; Object.prototype.polluted = 2; 0"), "0");
  EXPECT_EQ(value("[typeof leak, ({}).polluted ?? null]"), R"(["undefined",null])");
}

TEST_F(ExprNode, ErrorsCarryTheExpressionAndTheMessage) {
  auto o = eval("flow_input.x +* 2");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error.rfind("expression error: SyntaxError", 0), 0u) << o.error;
  EXPECT_NE(o.error.find("`flow_input.x +* 2`"), std::string::npos) << o.error;

  o = eval("results.list.nope()");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("TypeError: results.list.nope is not a function"), std::string::npos)
    << o.error;

  o = eval("10n ** 3n");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("BigInt"), std::string::npos) << o.error;

  o = eval("(() => { const c = {}; c.self = c; return c; })()");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("circular"), std::string::npos) << o.error;
}

TEST_F(ExprNode, TimeoutFailsTheExpressionAndTheEvaluatorCarriesOn) {
  auto o = eval("while (true) {}", 200ms);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("expression timed out after 200 ms"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("`while (true) {}`"), std::string::npos) << o.error;
  EXPECT_EQ(value("flow_input.x * 2"), "82");
}

TEST(ExprNodeLimits, OutOfMemoryFailsAndTheEvaluatorRecovers) {
  evaluator ev{evaluator_config{"node", 32, 10000ms}};
  auto o = ev.evaluate_sync("new Array(1e9).fill(1).length", "{}");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("expression error: "), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("new Array(1e9)"), std::string::npos) << o.error;
  o = ev.evaluate_sync("[1, 2, 3].map(x => x + 1)", "{}");
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.value_json, "[2,3,4]");
}

TEST(ExprNodeLimits, ConcurrentEvaluationsAreAllAnswered) {
  constexpr int count = 200;
  evaluator ev{evaluator_config{"node", 64, 10000ms}};
  std::mutex m;
  std::condition_variable cv;
  std::vector<outcome> results(count);
  int answered = 0;
  for (int i = 0; i < count; ++i) {
    std::string scope_json = R"({"flow_input":{"i":)" + std::to_string(i) + "}}";
    // Every third one is a plain path (fast path), the others go to node.
    std::string expr = i % 3 == 0 ? "flow_input.i" : "flow_input.i * 2 + [1].length";
    ev.evaluate(expr, scope_json, [&, i](outcome o) {
      std::lock_guard<std::mutex> lock(m);
      results[static_cast<size_t>(i)] = std::move(o);
      ++answered;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return answered == count; }));
  for (int i = 0; i < count; ++i) {
    const auto& o = results[static_cast<size_t>(i)];
    ASSERT_TRUE(o.ok) << i << ": " << o.error;
    EXPECT_EQ(o.value_json, std::to_string(i % 3 == 0 ? i : i * 2 + 1)) << i;
  }
}

TEST(ExprNodeLimits, MissingNodeIsAClearError) {
  evaluator ev{evaluator_config{"/nonexistent/millrace-node", 64, 1000ms}};
  auto o = ev.evaluate_sync("1 + 1", "{}");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("'/nonexistent/millrace-node' not found"), std::string::npos) << o.error;
  // The fast path needs no node at all.
  o = ev.evaluate_sync("a.b", R"({"a":{"b":1}})");
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.value_json, "1");
}

// A stand-in for node: a shell script that prints the ready line and then
// does what `body` says. Removed with its folder at the end of the test.
class fake_node {
public:
  explicit fake_node(const std::string& body) {
    char tmpl[] = "/tmp/millrace-expr-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl) ? tmpl : "";
    path_ = dir_ + "/node";
    std::ofstream(path_) << "#!/bin/sh\necho '{\"ready\":true}'\n" << body << "\n";
    ::chmod(path_.c_str(), 0700);
  }
  ~fake_node() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const {
    return path_;
  }

private:
  std::string dir_, path_;
};

TEST(ExprNodeLimits, WatchdogKillsAnEvaluatorThatStopsAnswering) {
  fake_node stuck("exec sleep 600");
  evaluator ev{evaluator_config{stuck.path(), 64, 1000ms}};
  auto o = ev.evaluate_sync("1 + 1", "{}", 50ms);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("expression timed out after 50 ms"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("`1 + 1`"), std::string::npos) << o.error;
}

TEST(ExprNodeLimits, MalformedReplyFailsTheEvaluation) {
  fake_node garbled("read line\necho 'this is not json'\nexec sleep 600");
  evaluator ev{evaluator_config{garbled.path(), 64, 5000ms}};
  auto o = ev.evaluate_sync("2 + 2", "{}");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("malformed reply"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("this is not json"), std::string::npos) << o.error;
}

TEST(ExprNodeLimits, DestructionAnswersPendingEvaluations) {
  fake_node stuck("exec sleep 600");
  std::promise<outcome> answer;
  {
    evaluator ev{evaluator_config{stuck.path(), 64, 60000ms}};
    ev.evaluate("3 + 3", "{}", [&answer](outcome o) { answer.set_value(std::move(o)); });
  }
  auto o = answer.get_future().get();
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("stopped"), std::string::npos) << o.error;
}

TEST(ExprNodeLimits, InvalidScopeIsAnError) {
  evaluator ev;
  auto o = ev.evaluate_sync("x + 1", "{\"x\": ");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("the scope is not valid JSON"), std::string::npos) << o.error;
  o = ev.evaluate_sync("x + 1", "[1]");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("the scope must be a JSON object"), std::string::npos) << o.error;
}

} // namespace
