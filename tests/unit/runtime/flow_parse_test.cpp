// OpenFlow parsing (runtime/flow/parse.hpp): a Windmill-export-shaped flow in
// JSON and in YAML, field types, YAML scalars, syntax errors and limits.

#include <gtest/gtest.h>

#include <sstream>

#include "runtime/flow/parse.hpp"
#include "tests/unit/runtime/flow_samples.hpp"

using namespace millrace::flow;

namespace {

std::string dump(const input_transform& t) {
  return t.type == input_transform::kind::javascript ? "js(" + t.expr + ")"
                                                     : "static(" + t.value_json + ")";
}

void dump(std::ostream& o, const flow_module& m);

void dump(std::ostream& o, const std::vector<flow_module>& ms) {
  o << "[";
  for (auto& m : ms)
    dump(o, m);
  o << "]";
}

/// Every field of the model as text: two flows are equal when their dumps are.
void dump(std::ostream& o, const flow_module& m) {
  o << "{" << m.id << "|" << m.summary << "|" << to_string(m.type) << "|" << m.content << "|"
    << m.language << "|" << m.path << "|" << m.hash << "|" << m.tag << "|";
  for (auto& [k, t] : m.input_transforms)
    o << k << "=" << dump(t) << ",";
  o << "|" << dump(m.iterator) << "|" << m.skip_failures << m.parallel << "|"
    << (m.parallelism ? dump(*m.parallelism) : "-") << "|";
  dump(o, m.modules);
  for (auto& b : m.branches) {
    o << "<" << b.summary << "|" << b.expr << "|" << b.skip_failure;
    dump(o, b.modules);
    o << ">";
  }
  dump(o, m.default_modules);
  for (auto* s : {&m.stop_after_if, &m.stop_after_all_iters_if})
    o << "|" << (*s ? (*s)->expr + "," + std::to_string((*s)->skip_if_stopped) + ","
                        + (*s)->error_message
                    : "-");
  o << "|" << m.skip_if.value_or("-") << "|" << (m.sleep ? dump(*m.sleep) : "-") << "|"
    << (m.timeout ? dump(*m.timeout) : "-") << "|";
  if (auto& r = m.retry)
    o << r->constant_attempts << "," << r->constant_seconds << "," << r->exponential_attempts
      << "," << r->exponential_multiplier << "," << r->exponential_seconds << ","
      << r->random_factor << "," << r->retry_if;
  o << "|" << m.continue_on_error << "|";
  if (auto& s = m.suspend)
    o << s->required_events << "," << s->timeout_s << "," << s->continue_on_disapprove_timeout;
  o << "|" << m.cache_ttl << "|" << m.mock_json.value_or("-") << "|" << m.priority.value_or(-1) << "}";
}

std::string dump(const open_flow& f) {
  std::ostringstream o;
  o << f.summary << "|" << f.description << "|" << f.schema_json << "|";
  auto& v = f.value;
  dump(o, v.modules);
  if (v.failure_module)
    dump(o, *v.failure_module);
  if (v.preprocessor_module)
    dump(o, *v.preprocessor_module);
  o << v.same_worker << "|" << v.early_return << "|" << v.skip_expr << "|" << v.cache_ttl << "|"
    << v.priority.value_or(-1);
  return o.str();
}

std::string errors_text(const parse_result& r) {
  std::string out;
  for (auto& e : r.errors)
    out += to_string(e) + "\n";
  return out;
}

/// The single error of parsing `text`.
flow_error only_error(const std::string& text) {
  auto r = parse_openflow(text);
  EXPECT_FALSE(r.flow);
  EXPECT_EQ(r.errors.size(), 1u) << errors_text(r);
  return r.errors.empty() ? flow_error{} : r.errors.front();
}

std::string one_module(const std::string& module) {
  return R"({"summary": "s", "value": {"modules": [{"id": "x", "value": {"type": "identity"}}, )"
         + module + "]}}";
}

} // namespace

TEST(FlowParse, FullWindmillExportParsesIntoTheModel) {
  auto r = parse_openflow(flow_samples::full_json);
  ASSERT_TRUE(r.flow) << errors_text(r);
  auto& f = *r.flow;
  EXPECT_EQ(f.summary, "Nightly report");
  EXPECT_EQ(f.description, "Fetch, fan out, report");
  EXPECT_EQ(f.schema_json,
            R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",)"
            R"("properties":{"n":{"type":"integer"}},"required":["n"]})");
  auto& ms = f.value.modules;
  ASSERT_EQ(ms.size(), 9u);

  auto& a = ms[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.summary, "fetch");
  EXPECT_EQ(a.type, module_type::rawscript);
  EXPECT_EQ(a.content, "echo hi");
  EXPECT_EQ(a.language, "bash");
  EXPECT_EQ(a.tag, "bash");
  ASSERT_EQ(a.input_transforms.size(), 3u); // document order
  EXPECT_EQ(a.input_transforms[0].first, "url");
  EXPECT_EQ(a.input_transforms[0].second.value_json, R"("https://x")");
  EXPECT_EQ(a.input_transforms[1].first, "n");
  EXPECT_EQ(a.input_transforms[1].second.type, input_transform::kind::javascript);
  EXPECT_EQ(a.input_transforms[1].second.expr, "flow_input.n");
  EXPECT_EQ(a.input_transforms[2].second.value_json, R"({"k":[1,2.5,null]})");
  ASSERT_TRUE(a.retry);
  EXPECT_EQ(a.retry->constant_attempts, 2);
  EXPECT_EQ(a.retry->constant_seconds, 5);
  EXPECT_EQ(a.retry->exponential_attempts, 3);
  EXPECT_EQ(a.retry->exponential_multiplier, 2);
  EXPECT_EQ(a.retry->exponential_seconds, 1);
  EXPECT_EQ(a.retry->random_factor, 10);
  EXPECT_EQ(a.retry->retry_if, "error.retryable");
  ASSERT_TRUE(a.timeout);
  EXPECT_EQ(a.timeout->value_json, "60");
  EXPECT_EQ(a.cache_ttl, 300);
  EXPECT_TRUE(a.continue_on_error);

  auto& b = ms[1];
  EXPECT_EQ(b.type, module_type::script);
  EXPECT_EQ(b.path, "f/lib/transform");
  EXPECT_EQ(b.hash, "0123456789abcdef");
  EXPECT_EQ(b.tag, "python3");
  ASSERT_TRUE(b.sleep);
  EXPECT_EQ(b.sleep->value_json, "5");
  EXPECT_EQ(b.skip_if, "flow_input.skip");

  auto& c = ms[2];
  EXPECT_EQ(c.type, module_type::branchone);
  ASSERT_EQ(c.branches.size(), 1u);
  EXPECT_EQ(c.branches[0].summary, "big");
  EXPECT_EQ(c.branches[0].expr, "results.b.size > 10");
  ASSERT_EQ(c.branches[0].modules.size(), 1u);
  EXPECT_EQ(c.branches[0].modules[0].id, "c1");
  ASSERT_EQ(c.default_modules.size(), 1u);
  EXPECT_EQ(c.default_modules[0].id, "c2");

  auto& d = ms[3];
  EXPECT_EQ(d.type, module_type::forloopflow);
  EXPECT_EQ(d.iterator.type, input_transform::kind::javascript);
  EXPECT_EQ(d.iterator.expr, "results.b.items");
  EXPECT_TRUE(d.skip_failures);
  EXPECT_TRUE(d.parallel);
  ASSERT_TRUE(d.parallelism); // an int in older exports: a static transform
  EXPECT_EQ(d.parallelism->type, input_transform::kind::static_value);
  EXPECT_EQ(d.parallelism->value_json, "4");
  ASSERT_EQ(d.modules.size(), 1u);
  EXPECT_EQ(d.modules[0].type, module_type::flow);
  EXPECT_EQ(d.modules[0].path, "f/sub/each");
  ASSERT_TRUE(d.modules[0].stop_after_if);
  EXPECT_EQ(d.modules[0].stop_after_if->expr, "result.done");
  EXPECT_TRUE(d.modules[0].stop_after_if->skip_if_stopped);
  EXPECT_EQ(d.modules[0].stop_after_if->error_message, "stopped");
  ASSERT_TRUE(d.stop_after_all_iters_if);
  EXPECT_EQ(d.stop_after_all_iters_if->expr, "results.d.length == 0");

  auto& e = ms[4];
  EXPECT_EQ(e.iterator.value_json, "[1,2,3]");
  ASSERT_TRUE(e.parallelism);
  EXPECT_EQ(e.parallelism->type, input_transform::kind::javascript);
  EXPECT_EQ(e.parallelism->expr, "flow_input.width");
  EXPECT_TRUE(e.modules.empty());

  EXPECT_EQ(ms[5].type, module_type::whileloopflow);
  ASSERT_EQ(ms[5].modules.size(), 1u);
  EXPECT_EQ(ms[5].modules[0].content, "print(1)\n");
  EXPECT_FALSE(ms[5].parallelism);

  auto& g = ms[6];
  EXPECT_EQ(g.type, module_type::branchall);
  EXPECT_TRUE(g.parallel);
  ASSERT_EQ(g.branches.size(), 2u);
  EXPECT_TRUE(g.branches[0].skip_failure);
  EXPECT_FALSE(g.branches[1].skip_failure);

  auto& h = ms[7];
  ASSERT_TRUE(h.suspend);
  EXPECT_EQ(h.suspend->required_events, 2);
  EXPECT_EQ(h.suspend->timeout_s, 3600);
  EXPECT_TRUE(h.suspend->continue_on_disapprove_timeout);
  EXPECT_EQ(h.mock_json, R"({"ok":true})");
  EXPECT_FALSE(ms[8].mock_json); // mock disabled

  auto& v = f.value;
  ASSERT_TRUE(v.failure_module);
  EXPECT_EQ(v.failure_module->id, "failure");
  EXPECT_EQ(v.failure_module->content, "echo failed");
  ASSERT_TRUE(v.preprocessor_module);
  EXPECT_EQ(v.preprocessor_module->language, "python3");
  EXPECT_TRUE(v.same_worker);
  EXPECT_EQ(v.early_return, "b");
  EXPECT_EQ(v.skip_expr, "flow_input.off");
  EXPECT_EQ(v.cache_ttl, 600);
  EXPECT_EQ(v.priority, 3);
  EXPECT_EQ(ms[0].priority, 1);
  EXPECT_FALSE(ms[1].priority); // unset: the flow's
}

TEST(FlowParse, YamlGivesTheSameModelAndJson) {
  auto j = parse_openflow(flow_samples::full_json);
  auto y = parse_openflow(flow_samples::full_yaml);
  ASSERT_TRUE(j.flow) << errors_text(j);
  ASSERT_TRUE(y.flow) << errors_text(y);
  EXPECT_EQ(dump(*y.flow), dump(*j.flow));
  EXPECT_EQ(y.json, j.json);
  // The explicit formats agree with detection.
  EXPECT_TRUE(parse_openflow(flow_samples::full_yaml, format::yaml).flow);
  EXPECT_TRUE(parse_openflow(flow_samples::full_json, format::json).flow);
  EXPECT_TRUE(parse_openflow(flow_samples::full_json, format::yaml).flow); // JSON is YAML too
}

TEST(FlowParse, YamlScalarsFollowTheCoreSchema) {
  auto r = parse_flow_value(R"(modules:
  - id: a
    value:
      type: identity
    mock:
      enabled: true
      return_value: [true, "true", 'false', 12, "12", -3, 0x1F, 0o17, 1.5, 2e3, ~, null, "null",
                     Null, yes, .inf, 1e999, 99999999999999999999, 007, +4, plain text, !!str 5]
)");
  ASSERT_TRUE(r.flow) << errors_text(r);
  EXPECT_EQ(*r.flow->value.modules[0].mock_json,
            R"([true,"true","false",12,"12",-3,31,15,1.5,2000.0,null,null,"null",null,"yes",)"
            R"(".inf","1e999",100000000000000000000.0,7,4,"plain text","5"])");
}

TEST(FlowParse, DetectLooksAtTheFirstCharacter) {
  auto r = parse_flow_value("  \n {\"modules\": []}");
  ASSERT_TRUE(r.flow) << errors_text(r);
  EXPECT_EQ(r.json, R"({"modules":[]})");
  r = parse_flow_value("modules: []\nsame_worker: true\n");
  ASSERT_TRUE(r.flow) << errors_text(r);
  EXPECT_TRUE(r.flow->value.same_worker);
  EXPECT_EQ(r.json, R"({"modules":[],"same_worker":true})");
}

TEST(FlowParse, FlowValueAlonePathsStartAtTheValue) {
  auto r = parse_flow_value(R"({"modules": [{"id": "a", "value": {"type": "identity"}},
                                            {"id": "b", "value": {"type": "rawscript", "language": 7}}]})");
  ASSERT_EQ(r.errors.size(), 1u) << errors_text(r);
  EXPECT_EQ(r.errors[0].module_id, "b");
  EXPECT_EQ(r.errors[0].field, "modules[1].value.language");
  EXPECT_EQ(r.errors[0].message, "value.language must be a string");
  EXPECT_FALSE(r.flow);
  EXPECT_FALSE(r.json.empty()); // the syntax was fine
}

TEST(FlowParse, ErrorText) {
  EXPECT_EQ(to_string(flow_error{"b", "value.modules[1].value.language", "unknown language 'cobol'"}),
            "module 'b': value.modules[1].value.language: unknown language 'cobol'");
  EXPECT_EQ(to_string(flow_error{"", "value.early_return", "x"}), "value.early_return: x");
  EXPECT_EQ(to_string(flow_error{"", "", "invalid JSON"}), "invalid JSON");
}

TEST(FlowParse, UnknownModuleTypesNameTheModule) {
  auto e = only_error(one_module(R"({"id": "agent", "value": {"type": "aiagent", "tools": []}})"));
  EXPECT_EQ(e.module_id, "agent");
  EXPECT_EQ(e.field, "value.modules[1].value.type");
  EXPECT_EQ(e.message, "unknown module type 'aiagent'");
  e = only_error(one_module(R"({"id": "y", "value": {"summary": "no type"}})"));
  EXPECT_EQ(e.module_id, "y");
  EXPECT_EQ(e.field, "value.modules[1].value.type");
}

TEST(FlowParse, WrongFieldTypesNameTheField) {
  struct wrong {
    const char* module;
    const char* field;
    const char* message;
  };
  const wrong cases[] = {
    {R"({"id": "m", "value": {"type": "identity"}, "retry": {"constant": {"attempts": "three"}}})",
     "value.modules[1].retry.constant.attempts", "retry.constant.attempts must be an integer"},
    {R"({"id": "m", "value": {"type": "identity"}, "retry": {"exponential": {"multiplier": 1.5}}})",
     "value.modules[1].retry.exponential.multiplier",
     "retry.exponential.multiplier must be an integer"},
    {R"({"id": "m", "value": {"type": "identity"}, "retry": []})", "value.modules[1].retry",
     "retry must be an object"},
    {R"({"id": "m", "value": {"type": "identity"}, "continue_on_error": "yes"})",
     "value.modules[1].continue_on_error", "continue_on_error must be a boolean"},
    {R"({"id": "m", "value": {"type": "identity"}, "cache_ttl": 1e12})",
     "value.modules[1].cache_ttl", "cache_ttl is out of range"},
    {R"({"id": "m", "value": {"type": "identity"}, "suspend": {"required_events": "2"}})",
     "value.modules[1].suspend.required_events", "suspend.required_events must be an integer"},
    {R"({"id": "m", "value": {"type": "identity"}, "stop_after_if": {"expr": 1}})",
     "value.modules[1].stop_after_if.expr", "stop_after_if.expr must be a string"},
    {R"({"id": "m", "value": {"type": "identity"}, "sleep": "5"})", "value.modules[1].sleep",
     "sleep must be a number or an input transform object"},
    {R"({"id": "m", "value": {"type": "identity"}, "timeout": {"type": "python", "code": "1"}})",
     "value.modules[1].timeout.type", "unknown input transform type 'python' (static or javascript)"},
    {R"({"id": "m", "value": {"type": "identity"}, "mock": {"enabled": 1}})",
     "value.modules[1].mock.enabled", "mock.enabled must be a boolean"},
    {R"({"id": "m", "value": {"type": "rawscript", "content": "x", "language": "bash", "input_transforms": []}})",
     "value.modules[1].value.input_transforms", "value.input_transforms must be an object"},
    {R"({"id": "m", "value": {"type": "script", "path": "f/a", "input_transforms": {"x": 5}}})",
     "value.modules[1].value.input_transforms.x", "value.input_transforms.x must be an input transform object"},
    {R"({"id": "m", "value": {"type": "script", "path": "f/a", "input_transforms": {"x": {"value": 5}}}})",
     "value.modules[1].value.input_transforms.x.type",
     "value.input_transforms.x.type is required (static or javascript)"},
    {R"({"id": "m", "value": {"type": "flow", "path": "f/a", "input_transforms": {"x": {"type": "javascript"}}}})",
     "value.modules[1].value.input_transforms.x.expr",
     "value.input_transforms.x.expr is required for a javascript transform"},
    {R"({"id": "m", "value": {"type": "forloopflow", "iterator": "results.a", "modules": []}})",
     "value.modules[1].value.iterator", "value.iterator must be an input transform object"},
    {R"({"id": "m", "value": {"type": "forloopflow", "iterator": {"type": "static", "value": []}, "parallelism": "4"}})",
     "value.modules[1].value.parallelism", "value.parallelism must be a number or an input transform object"},
    {R"({"id": "m", "value": {"type": "whileloopflow", "modules": {}}})",
     "value.modules[1].value.modules", "value.modules must be an array"},
    {R"({"id": "m", "value": {"type": "branchone", "branches": [{"expr": true}]}})",
     "value.modules[1].value.branches[0].expr", "value.branches[0].expr must be a string"},
    {R"({"id": "m", "value": {"type": "branchall", "branches": [{"skip_failure": "no"}]}})",
     "value.modules[1].value.branches[0].skip_failure", "value.branches[0].skip_failure must be a boolean"},
    {R"({"id": "m", "value": {"type": "branchone", "branches": [], "default": [3]}})",
     "value.modules[1].value.default[0]", "a module must be an object ({id, value: {type, ...}})"},
    {R"({"id": 5, "value": {"type": "identity"}})", "value.modules[1].id", "id must be a string"},
    {R"({"id": "m"})", "value.modules[1].value", "value is required ({type, ...})"},
  };
  for (auto& c : cases) {
    auto e = only_error(one_module(c.module));
    EXPECT_EQ(e.field, c.field) << c.module;
    EXPECT_EQ(e.message, c.message) << c.module;
    if (std::string{c.field} != "value.modules[1].id") {
      EXPECT_EQ(e.module_id, "m") << c.module;
    }
  }
}

TEST(FlowParse, WrongFlowLevelTypes) {
  auto e = only_error(R"({"summary": 1, "value": {"modules": []}})");
  EXPECT_EQ(e.module_id, "");
  EXPECT_EQ(e.field, "summary");
  EXPECT_EQ(e.message, "summary must be a string");
  e = only_error(R"({"summary": "s", "value": {"modules": [], "same_worker": "true"}})");
  EXPECT_EQ(e.field, "value.same_worker");
  EXPECT_EQ(e.message, "value.same_worker must be a boolean");
  e = only_error(R"({"summary": "s", "value": {"modules": [], "priority": "high"}})");
  EXPECT_EQ(e.field, "value.priority");
  e = only_error(R"({"summary": "s", "value": {"modules": [], "failure_module": []}})");
  EXPECT_EQ(e.field, "value.failure_module");
  e = only_error(R"({"summary": "s", "value": {"modules": []}, "schema": "x"})");
  EXPECT_EQ(e.field, "schema");
  EXPECT_EQ(e.message, "schema must be an object");
  e = only_error(R"({"summary": "s"})");
  EXPECT_EQ(e.field, "value");
  e = only_error(R"({"summary": "s", "value": []})");
  EXPECT_EQ(e.field, "value");
  EXPECT_EQ(e.message, "value must be an object");
  e = only_error("- a\n- b\n");
  EXPECT_EQ(e.message, "an OpenFlow definition must be an object");
}

TEST(FlowParse, NullsAndEmptyFlowsAreAccepted) {
  auto r = parse_openflow(R"({"summary": null, "description": null, "schema": null,
                              "value": {"modules": [], "failure_module": null, "early_return": null}})");
  ASSERT_TRUE(r.flow) << errors_text(r);
  EXPECT_TRUE(r.flow->value.modules.empty());
  EXPECT_FALSE(r.flow->value.failure_module);
  EXPECT_EQ(r.flow->schema_json, "");
}

TEST(FlowParse, SyntaxErrorsSayWhere) {
  auto e = only_error("{\"summary\": \"s\",\n \"value\": {\"modules\": [}}");
  EXPECT_EQ(e.field, "");
  EXPECT_EQ(e.message.rfind("invalid JSON at line 2, column ", 0), 0u) << e.message;
  e = only_error("summary: s\nvalue:\n  modules: [a, b\n");
  EXPECT_EQ(e.message.rfind("invalid YAML: line ", 0), 0u) << e.message;
  auto r = parse_openflow("{\"summary\": \"s\"} trailing");
  EXPECT_FALSE(r.flow);
  EXPECT_TRUE(r.json.empty());
  e = only_error("summary: !!int abc\nvalue: {modules: []}\n");
  EXPECT_NE(e.message.find("does not match its tag"), std::string::npos) << e.message;
  e = only_error("summary: !custom x\nvalue: {modules: []}\n");
  EXPECT_NE(e.message.find("unsupported tag '!custom'"), std::string::npos) << e.message;
}

TEST(FlowParse, DepthAndAliasLimits) {
  std::string deep = "{\"summary\": \"s\", \"value\": {\"modules\": [], \"x\": ";
  deep += std::string(5000, '[') + std::string(5000, ']') + "}}";
  auto e = only_error(deep);
  EXPECT_EQ(e.message, "the definition nests deeper than 256 levels");

  e = only_error("summary: s\nvalue: {modules: []}\nx: " + std::string(300, '[')
                 + std::string(300, ']') + "\n");
  EXPECT_NE(e.message.find("nest"), std::string::npos) << e.message;

  // Each level doubles the expansion: 2^30 nodes unless stopped.
  std::string bomb = "a0: &a0 [x, x]\n";
  for (int i = 1; i <= 30; ++i)
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1)
            + ", *a" + std::to_string(i - 1) + "]\n";
  e = only_error(bomb);
  EXPECT_NE(e.message.find("nodes (after expanding aliases)"), std::string::npos) << e.message;
}
