// RELIABILITY.md 5(b), HTTP layer: slowloris and slow bodies (408 and
// close), silent clients, keep-alive idle timeout, the per-IP cap under a
// slowloris attack.

#include <gtest/gtest.h>

#include "http_harness.hpp"

using namespace millrace::test::http;
using namespace millrace::api::http;
using namespace std::chrono_literals;

namespace {

class timeout_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto cfg = test_config();
    cfg.header_timeout = 200ms;
    cfg.body_timeout = 200ms;
    cfg.idle_timeout = 300ms;
    cfg.max_connections_per_ip = 3;
    srv = std::make_unique<test_server>(cfg);
    (*srv)->add_route("GET", "/get", [](request&&, route_match&&, responder r) {
      r(response{200, "text/plain", "ok", {}});
    });
    (*srv)->add_route("POST", "/post", [](request&&, route_match&&, responder r) {
      r(response{200, "text/plain", "ok", {}});
    });
    srv->start();
  }
  std::unique_ptr<test_server> srv;
};

} // namespace

TEST_F(timeout_test, trickled_header_is_408_and_closed) {
  raw_conn c{srv->port()};
  auto t0 = std::chrono::steady_clock::now();
  c.send("GET /get HTTP/1.1\r\nHost: x\r\n");
  // Slowloris: a header line every 30 ms, never the blank line. Stop when
  // the server speaks.
  int i = 0;
  while (!c.readable_within(30ms) && std::chrono::steady_clock::now() - t0 < 3s)
    c.send("X-" + std::to_string(i++) + ": v\r\n");
  auto r = c.read_reply(1s);
  EXPECT_EQ(r.status, 408);
  EXPECT_NE(r.body.find("\"error\":\"request_timeout\""), std::string::npos);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(timeout_test, partial_header_then_silence_is_408) {
  raw_conn c{srv->port()};
  c.send("GET /get HT");
  EXPECT_EQ(c.read_reply(2s).status, 408);
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(timeout_test, silent_connection_is_closed_without_an_answer) {
  raw_conn c{srv->port()};
  EXPECT_TRUE(c.closed_within(2s));
  EXPECT_EQ(c.pending(), "");
}

TEST_F(timeout_test, slow_body_is_408_and_closed) {
  raw_conn c{srv->port()};
  c.send(raw_request("POST", "/post", "Content-Type: application/json\r\nContent-Length: 100\r\n",
                     "{\"a\":"));
  auto r = c.read_reply(2s);
  EXPECT_EQ(r.status, 408);
  EXPECT_NE(r.body.find("body"), std::string::npos);
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(timeout_test, idle_keep_alive_connection_is_closed) {
  raw_conn c{srv->port()};
  c.send(raw_request("GET", "/get"));
  EXPECT_EQ(c.read_reply().status, 200);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_EQ(c.pending(), ""); // closed without a response
}

TEST_F(timeout_test, busy_keep_alive_connection_stays_open) {
  client c{srv->port()};
  auto t0 = std::chrono::steady_clock::now();
  // Requests keep coming faster than the idle timeout, for longer than it.
  while (std::chrono::steady_clock::now() - t0 < 600ms)
    ASSERT_EQ(c.get("/get").status, 200);
}

TEST(timeouts, per_ip_cap_holds_under_slowloris) {
  auto cfg = test_config();
  cfg.header_timeout = 1s; // long enough to fill the cap before it fires
  cfg.max_connections_per_ip = 3;
  test_server srv{cfg};
  srv->add_route("GET", "/get", [](request&&, route_match&&, responder r) {
    r(response{200, "text/plain", "ok", {}});
  });
  srv.start();
  std::vector<std::unique_ptr<raw_conn>> loris;
  for (int i = 0; i < 3; ++i) {
    loris.push_back(std::make_unique<raw_conn>(srv.port()));
    loris.back()->send("GET /get HTTP/1.1\r\n");
  }
  ASSERT_TRUE(eventually([&] { return srv->connections() == 3; }));
  raw_conn extra{srv.port()};
  EXPECT_TRUE(extra.closed_within(2s));
  EXPECT_EQ(extra.pending(), "");
  EXPECT_EQ(srv.sample("millrace_http_connections_rejected_total{reason=\"max_connections_per_ip\"}"),
            1);
  // The attackers are cut off by the header timeout, which frees the slots.
  for (auto& l : loris)
    EXPECT_EQ(l->read_reply(3s).status, 408);
  loris.clear();
  ASSERT_TRUE(eventually([&] { return srv->connections() == 0; }));
  client c{srv.port()};
  EXPECT_EQ(c.get("/get").status, 200);
}
