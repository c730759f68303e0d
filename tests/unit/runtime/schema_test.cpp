// Parameter schemas (bash parsed here, python through Python's own ast via
// the runtime), argument validation against them, and --arg coercion.

#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include "runtime/bash/bash_runtime.hpp"
#include "runtime/runtime.hpp"
#include "runtime/schema.hpp"

using namespace millrace::runtime;

namespace {

rapidjson::Document parse(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  EXPECT_FALSE(d.HasParseError()) << s;
  return d;
}

TEST(BashSchema, PositionalParametersByConvention) {
  auto params = bash_parameters("#!/bin/bash\n"
                                "name=\"$1\"\n"
                                "  local count=${2:-3}\n"
                                "# comment=\"$3\"\n"
                                "mode=\"${3}\"\n"
                                "echo \"$name\"\n"
                                "other=$name\n");
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].name, "name");
  EXPECT_FALSE(params[0].has_default);
  EXPECT_EQ(params[1].name, "count");
  EXPECT_TRUE(params[1].has_default);
  EXPECT_EQ(params[1].default_value, "3");
  EXPECT_EQ(params[2].name, "mode");
  auto schema = parse(bash_runtime{}.infer_schema("a=\"$1\"\nb=\"${2:-x}\"\n"));
  EXPECT_STREQ(schema["properties"]["a"]["type"].GetString(), "string");
  EXPECT_STREQ(schema["properties"]["b"]["default"].GetString(), "x");
  ASSERT_EQ(schema["required"].Size(), 1u);
  EXPECT_STREQ(schema["required"][0].GetString(), "a");
  EXPECT_STREQ(schema["order"][1].GetString(), "b");
}

TEST(BashSchema, ArgsArePassedInDeclaredOrder) {
  bash_runtime rt;
  job_input in;
  in.code = "b=\"$2\"\na=\"$1\"\nc=\"${4:-z}\"\n";
  in.args = R"({"a": "x", "b": 7, "c": null})";
  auto plan = rt.plan(in);
  EXPECT_EQ(plan.argv, (std::vector<std::string>{"/bin/bash", "/job/main.sh", "x", "7", "", ""}));
}

class PythonSchema : public ::testing::Test {
protected:
  static void SetUpTestSuite() { install_support_files(); }
  std::string infer(const std::string& code) { return find_runtime("python3")->infer_schema(code); }
};

TEST_F(PythonSchema, SignaturesMapToJsonSchema) {
  struct row {
    const char* signature;
    const char* param;
    const char* expect_type; // "" for untyped
    bool required;
  };
  const row table[] = {
    {"def main(a: str): pass", "a", "string", true},
    {"def main(a: int = 3): pass", "a", "integer", false},
    {"def main(a: float): pass", "a", "number", true},
    {"def main(a: bool = False): pass", "a", "boolean", false},
    {"def main(a: dict): pass", "a", "object", true},
    {"def main(a: list): pass", "a", "array", true},
    {"from typing import List\ndef main(a: List[int]): pass", "a", "array", true},
    {"from typing import Optional\ndef main(a: Optional[str]): pass", "a", "string", false},
    {"from typing import Literal\ndef main(a: Literal['x', 'y']): pass", "a", "string", true},
    {"def main(a: bytes): pass", "a", "string", true},
    {"from datetime import datetime\ndef main(a: datetime): pass", "a", "string", true},
    {"def main(a): pass", "a", "", true},
  };
  for (auto& r : table) {
    auto d = parse(infer(r.signature));
    ASSERT_TRUE(d.HasMember("properties")) << r.signature;
    auto& p = d["properties"][r.param];
    if (*r.expect_type)
      EXPECT_STREQ(p["type"].GetString(), r.expect_type) << r.signature;
    else
      EXPECT_FALSE(p.HasMember("type")) << r.signature;
    bool req = false;
    for (auto& x : d["required"].GetArray())
      req |= std::string(x.GetString()) == r.param;
    EXPECT_EQ(req, r.required) << r.signature;
  }
  auto lit = parse(infer("from typing import Literal\ndef main(a: Literal['x', 'y']): pass"));
  EXPECT_EQ(lit["properties"]["a"]["enum"].Size(), 2u);
  auto dt = parse(infer("from datetime import datetime\ndef main(a: datetime): pass"));
  EXPECT_STREQ(dt["properties"]["a"]["format"].GetString(), "date-time");
}

TEST_F(PythonSchema, ScriptsThatCannotBeAnalysedAreClearErrors) {
  try {
    infer("def main(:\n");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(infer("def helper(): pass\n"), std::invalid_argument);
}

TEST(Validation, ViolationsNameTheField) {
  auto schema = R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
    "properties":{"n":{"type":"integer"},"mode":{"type":"string","enum":["a","b"]},
    "tags":{"type":"array","items":{"type":"string"}}},"required":["n"]})";
  EXPECT_FALSE(validate_args(schema, R"({"n": 3, "mode": "a", "tags": ["x"]})"));
  auto e = validate_args(schema, R"({"mode": "a"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pointer, "/n");
  EXPECT_EQ(e->message, "missing required argument 'n'");
  e = validate_args(schema, R"({"n": "three"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pointer, "/n");
  EXPECT_NE(e->message.find("expected \"integer\", got string"), std::string::npos) << e->message;
  e = validate_args(schema, R"({"n": 1, "mode": "c"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pointer, "/mode");
  e = validate_args(schema, R"({"n": 1, "tags": [1]})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pointer, "/tags/0");
  e = validate_args(schema, "[1]");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "args must be a JSON object");
}

TEST(Validation, CommandLineArgsFollowTheSchemasTypes) {
  auto schema = R"({"type":"object","properties":{"n":{"type":"integer"},"s":{"type":"string"},
    "o":{"type":"object"},"any":{}}})";
  EXPECT_EQ(args_from_pairs(schema, {{"n", "5"}, {"s", "5"}, {"o", "{\"k\":1}"}, {"any", "x y"}}),
            R"({"n":5,"s":"5","o":{"k":1},"any":"x y"})");
  EXPECT_THROW(args_from_pairs(schema, {{"n", "five"}}), std::invalid_argument);
}

} // namespace
