// Scripts over HTTP: create with schema inference, get by path and hash,
// versions, list with pages, archive.

#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

const char* py_v1 = "def main(name: str, count: int = 2):\n    return {'hello': name, 'n': count}\n";
const char* py_v2 = "def main(name: str, loud: bool = False):\n    return name.upper() if loud else name\n";

TEST(ApiScripts, CreateInfersTheSchemaAndKeepsVersions) {
  api_server s;
  auto t = s.user_token;
  auto h1 = push_script(s, t, "ws-a", "f/demo/greet", "python3", py_v1);
  ASSERT_EQ(h1.size(), 16u);
  auto got = s.call(t, "GET", "/api/w/ws-a/scripts/get/p/f/demo/greet");
  ASSERT_EQ(got.status, 200) << got.body;
  auto j = json_of(got.body);
  EXPECT_EQ(std::string{j["hash"].GetString()}, h1);
  EXPECT_EQ(std::string{j["language"].GetString()}, "python3");
  auto& schema = j["schema"];
  ASSERT_TRUE(schema.IsObject());
  EXPECT_EQ(std::string{schema["properties"]["count"]["type"].GetString()}, "integer");
  ASSERT_TRUE(schema["required"].IsArray());
  EXPECT_EQ(schema["required"].Size(), 1u) << "count has a default";
  // The same content again: the same version.
  EXPECT_EQ(push_script(s, t, "ws-a", "f/demo/greet", "python3", py_v1), h1);
  auto h2 = push_script(s, t, "ws-a", "f/demo/greet", "python3", py_v2);
  EXPECT_NE(h2, h1);
  auto hist = s.call(t, "GET", "/api/w/ws-a/scripts/history/p/f/demo/greet");
  ASSERT_EQ(hist.status, 200);
  auto hj = json_of(hist.body);
  ASSERT_EQ(hj.Size(), 2u);
  EXPECT_EQ(std::string{hj[0]["hash"].GetString()}, h2) << "newest first";
  EXPECT_EQ(std::string{hj[0]["parent_hash"].GetString()}, h1);
  // The old version stays readable (and runnable) by hash.
  auto old = s.call(t, "GET", "/api/w/ws-a/scripts/get/h/" + h1);
  ASSERT_EQ(old.status, 200);
  EXPECT_TRUE(json_of(old.body)["archived"].GetBool()) << "superseded";
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/scripts/get/h/0123456789abcdef").status, 404);
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/scripts/get/h/xyz").status, 400);
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/scripts/exists/p/f/demo/greet").body, "true");
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/scripts/exists/p/f/demo/nope").body, "false");
}

TEST(ApiScripts, BadScriptsAreRefusedWithTheReason) {
  api_server s;
  auto t = s.user_token;
  auto r = s.call(t, "POST", "/api/w/ws-a/scripts/create",
                  R"({"path":"f/x/broken","language":"python3","content":"def main(:\n  pass\n"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string{json_of(r.body)["error"].GetString()}, "invalid_script");
  EXPECT_NE(r.body.find("line"), std::string::npos) << r.body;
  r = s.call(t, "POST", "/api/w/ws-a/scripts/create",
             R"({"path":"f/x/nomain","language":"python3","content":"x = 1\n"})");
  EXPECT_EQ(r.status, 400);
  r = s.call(t, "POST", "/api/w/ws-a/scripts/create",
             R"({"path":"f/x/y","language":"cobol","content":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string{json_of(r.body)["field"].GetString()}, "/language");
  r = s.call(t, "POST", "/api/w/ws-a/scripts/create", R"({"path":"f/x/y","language":"bash"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string{json_of(r.body)["field"].GetString()}, "/content");
  r = s.call(t, "POST", "/api/w/ws-a/scripts/create",
             R"({"path":"f/../etc","language":"bash","content":"echo"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string{json_of(r.body)["field"].GetString()}, "/path");
}

TEST(ApiScripts, ListPagesWithCursorsAndArchiveHidesAPath) {
  api_server s;
  auto t = s.user_token;
  for (auto name : {"a", "b", "c", "d", "e"})
    push_script(s, t, "ws-a", std::string{"f/list/"} + name, "bash", std::string{"echo "} + name + "\n");
  push_script(s, t, "ws-a", "u/me/other", "bash", "echo other\n");
  std::vector<std::string> seen;
  std::string target = "/api/w/ws-a/scripts/list?path_start=f/list/&per_page=2";
  for (int page = 0; page < 10; ++page) {
    auto r = s.call(t, "GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = json_of(r.body);
    for (auto& v : j.GetArray())
      seen.push_back(v["path"].GetString());
    auto next = header_of(r, "X-Next-Cursor");
    if (next.empty())
      break;
    target = "/api/w/ws-a/scripts/list?path_start=f/list/&per_page=2&cursor=" + next;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"f/list/a", "f/list/b", "f/list/c", "f/list/d",
                                            "f/list/e"}));
  auto ar = s.call(t, "POST", "/api/w/ws-a/scripts/archive/p/f/list/c");
  ASSERT_EQ(ar.status, 200) << ar.body;
  auto r = s.call(t, "GET", "/api/w/ws-a/scripts/list?path_start=f/list/");
  EXPECT_EQ(json_of(r.body).Size(), 4u);
  r = s.call(t, "GET", "/api/w/ws-a/scripts/list?path_start=f/list/&show_archived=true");
  EXPECT_EQ(json_of(r.body).Size(), 5u);
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/jobs/run/p/f/list/c", "{}").status, 404)
    << "an archived path does not run";
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/scripts/archive/p/f/list/zzz").status, 404);
  // Pushing the path again brings it back.
  push_script(s, t, "ws-a", "f/list/c", "bash", "echo again\n");
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/jobs/run/p/f/list/c", "{}").status, 201);
}

} // namespace
} // namespace millrace::test
