// The server end to end over TCP: routing, keep-alive, pipelining, error
// bodies, metrics, 100-continue, response headers.

#include <gtest/gtest.h>

#include "api/http/json.hpp"
#include "http_harness.hpp"

using namespace millrace::test::http;
using namespace millrace::api::http;
using namespace std::chrono_literals;

namespace {

/// Echoes what the handler saw as JSON-ish text.
handler echo() {
  return [](request&& req, route_match&& m, responder r) {
    std::string out = req.method + " " + req.path + " " + m.pattern;
    for (auto& [k, v] : m.params)
      out += " " + k + "=" + v;
    for (auto& [k, v] : req.query)
      out += " ?" + k + "=" + v;
    out += " body=" + req.body;
    response res;
    res.content_type = "text/plain";
    res.body = std::move(out);
    r(std::move(res));
  };
}

class server_test : public ::testing::Test {
protected:
  void SetUp() override {
    srv->add_route("GET", "/api/version", [](request&&, route_match&&, responder r) {
      r(response{200, "application/json", R"({"version":"1"})", {}});
    });
    srv->add_route("GET", "/api/w/{workspace}/jobs_u/get/{id}", echo());
    srv->add_route("POST", "/api/w/{workspace}/jobs/run/p/{path*}", echo());
    srv->add_route("DELETE", "/api/w/{workspace}/jobs_u/get/{id}", echo());
    srv->add_route("GET", "/headers", [](request&& req, route_match&&, responder r) {
      std::string out;
      for (auto& [k, v] : req.headers)
        out += k + ":" + v + "\n";
      out += "remote:" + req.remote;
      r(response{200, "text/plain", out, {{"X-Extra", "1"}, {"Bad\r\nInjected", "x"},
                                        {"X-Evil", "a\r\nSet-Cookie: x=1"}}});
    });
    srv->add_route("DELETE", "/nothing", [](request&&, route_match&&, responder r) {
      r(response{204, "application/json", "ignored", {}});
    });
    srv->add_route("GET", "/metrics", metrics_handler(srv.metrics()));
    srv.start();
  }
  test_server srv;
};

} // namespace

TEST_F(server_test, answers_on_the_io_thread) {
  client c{srv.port()};
  auto r = c.get("/api/version");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"version":"1"})");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("date").empty());
}

TEST_F(server_test, path_parameters_and_query) {
  client c{srv.port()};
  auto r = c.get("/api/w/my%20ws/jobs_u/get/42?a=1&b=x+y");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "GET /api/w/my ws/jobs_u/get/42 /api/w/{workspace}/jobs_u/get/{id} id=42 "
                    "workspace=my ws ?a=1 ?b=x y body=");
  auto p = c.post("/api/w/demo/jobs/run/p/f/folder/script", R"({"x":1})");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "POST /api/w/demo/jobs/run/p/f/folder/script "
                    "/api/w/{workspace}/jobs/run/p/{path*} path=f/folder/script "
                    "workspace=demo body={\"x\":1}");
}

TEST_F(server_test, unknown_path_is_404_json) {
  client c{srv.port()};
  auto r = c.get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"error":"not_found","message":"no such route"})");
  // The connection stays usable.
  EXPECT_EQ(c.get("/api/version").status, 200);
}

TEST_F(server_test, wrong_method_is_405_with_allow) {
  client c{srv.port()};
  auto r = c.request("PUT", "/api/w/a/jobs_u/get/1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "DELETE, GET");
  EXPECT_NE(r.body.find("\"error\":\"method_not_allowed\""), std::string::npos);
}

TEST_F(server_test, unknown_method_is_405_with_allow) {
  client c{srv.port()};
  auto r = c.request("FOO", "/api/version");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET");
}

TEST_F(server_test, keep_alive_serves_many_requests_on_one_connection) {
  client c{srv.port()};
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(c.get("/api/version").status, 200);
  EXPECT_EQ(srv->connections(), 1u);
}

TEST_F(server_test, pipelined_requests_are_answered_in_order) {
  raw_conn c{srv.port()};
  c.send(raw_request("GET", "/api/w/a/jobs_u/get/1") + raw_request("GET", "/nope")
         + raw_request("GET", "/api/w/a/jobs_u/get/2"));
  auto r1 = c.read_reply();
  auto r2 = c.read_reply();
  auto r3 = c.read_reply();
  EXPECT_EQ(r1.status, 200);
  EXPECT_NE(r1.body.find("id=1"), std::string::npos);
  EXPECT_EQ(r2.status, 404);
  EXPECT_EQ(r3.status, 200);
  EXPECT_NE(r3.body.find("id=2"), std::string::npos);
}

TEST_F(server_test, connection_close_is_honoured) {
  raw_conn c{srv.port()};
  c.send(raw_request("GET", "/api/version", "Connection: close\r\n"));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(server_test, http_1_0_closes_after_the_response) {
  raw_conn c{srv.port()};
  c.send("GET /api/version HTTP/1.0\r\n\r\n");
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(server_test, headers_reach_the_handler_in_lower_case) {
  client c{srv.port()};
  auto r = c.request("GET", "/headers", {}, {{"X-Custom-Thing", "Value"}});
  EXPECT_NE(r.body.find("x-custom-thing:Value"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("remote:127.0.0.1:"), std::string::npos) << r.body;
  EXPECT_EQ(r.header("x-extra"), "1");
  // Header injection from a buggy handler is dropped, not sent.
  EXPECT_EQ(r.header("set-cookie"), "");
  EXPECT_EQ(r.header("x-evil"), "");
}

TEST_F(server_test, no_content_has_no_body) {
  raw_conn c{srv.port()};
  c.send(raw_request("DELETE", "/nothing") + raw_request("GET", "/api/version"));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(c.read_reply().status, 200); // framing intact
}

TEST_F(server_test, expect_100_continue) {
  raw_conn c{srv.port()};
  c.send(raw_request("POST", "/api/w/a/jobs/run/p/s",
                     "Content-Type: application/json\r\nContent-Length: 2\r\n"
                     "Expect: 100-continue\r\n"));
  auto interim = c.read_reply(5s, true);
  EXPECT_EQ(interim.status, 100);
  c.send("{}");
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("body={}"), std::string::npos);
}

TEST_F(server_test, chunked_body_within_the_limit) {
  raw_conn c{srv.port()};
  c.send(raw_request("POST", "/api/w/a/jobs/run/p/s",
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                     "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n"));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("body={\"a\":1}"), std::string::npos) << r.body;
}

TEST_F(server_test, records_metrics_per_route) {
  client c{srv.port()};
  c.get("/api/version");
  c.get("/api/version");
  c.get("/api/w/x/jobs_u/get/1");
  c.get("/nope");
  c.request("FOO", "/nope");
  auto m = c.get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("millrace_http_requests_total{route=\"/api/version\",method=\"GET\","
                        "status=\"200\"} 2\n"),
            std::string::npos)
    << m.body;
  EXPECT_NE(m.body.find("millrace_http_requests_total{route=\"/api/w/{workspace}/jobs_u/get/{id}\","
                        "method=\"GET\",status=\"200\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("millrace_http_requests_total{route=\"unmatched\",method=\"GET\","
                        "status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("millrace_http_requests_total{route=\"unmatched\",method=\"OTHER\","
                        "status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("millrace_http_request_duration_seconds_count{route=\"/api/version\"} 2\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("millrace_http_connections_open 1\n"), std::string::npos);
}

TEST_F(server_test, routes_are_listed) {
  auto list = srv->routes();
  ASSERT_EQ(list.size(), 7u);
  EXPECT_EQ(list[2].method, "POST");
  EXPECT_EQ(list[2].pattern, "/api/w/{workspace}/jobs/run/p/{path*}");
  EXPECT_THROW(srv->add_route("GET", "/late", echo()), std::logic_error);
}

TEST(server, bind_failure_throws) {
  test_server a;
  a.start();
  auto cfg = test_config();
  cfg.port = a.port();
  test_server b{cfg};
  EXPECT_ANY_THROW(b.start());
}
