// RELIABILITY.md 5(b), HTTP layer: body, header and URL limits, media type,
// connection caps.

#include <gtest/gtest.h>

#include "http_harness.hpp"

using namespace millrace::test::http;
using namespace millrace::api::http;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t body_limit = 1024;

class limits_test : public ::testing::Test {
protected:
  void start(server_config cfg) {
    srv = std::make_unique<test_server>(cfg);
    (*srv)->add_route("POST", "/echo", [](request&& req, route_match&&, responder r) {
      r(response{200, "text/plain", std::to_string(req.body.size()), {}});
    });
    (*srv)->add_route("GET", "/get", [](request&& req, route_match&&, responder r) {
      r(response{200, "text/plain", req.target.substr(0, 16), {}});
    });
    srv->start();
  }
  void start() {
    auto cfg = test_config();
    cfg.max_body_bytes = body_limit;
    start(cfg);
  }
  std::unique_ptr<test_server> srv;
};

std::string json_post(std::size_t length, std::string_view body = {}) {
  return raw_request("POST", "/echo",
                     "Content-Type: application/json\r\nContent-Length: " + std::to_string(length)
                       + "\r\n",
                     body);
}

} // namespace

TEST_F(limits_test, body_at_the_limit_is_accepted) {
  start();
  raw_conn c{srv->port()};
  c.send(json_post(body_limit, std::string(body_limit, ' ')));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::to_string(body_limit));
}

TEST_F(limits_test, content_length_over_the_limit_is_413_before_the_body) {
  start();
  raw_conn c{srv->port()};
  // Only the header: the answer must come without the body being sent.
  c.send(json_post(body_limit + 1));
  auto r = c.read_reply(2s);
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("\"error\":\"payload_too_large\""), std::string::npos);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(limits_test, huge_content_length_is_413) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("POST", "/echo",
                     "Content-Type: application/json\r\nContent-Length: 99999999999999\r\n"));
  EXPECT_EQ(c.read_reply(2s).status, 413);
}

TEST_F(limits_test, client_sending_an_oversized_body_still_reads_the_413) {
  start();
  raw_conn c{srv->port()};
  // Header and a 256 KiB body in one go: the server answers after the header
  // and drains the rest, so the client sees the 413 and not a reset.
  c.send(json_post(256 * 1024, std::string(256 * 1024, 'x')));
  EXPECT_EQ(c.read_reply(3s).status, 413);
}

TEST_F(limits_test, chunked_body_over_the_limit_is_413_while_streaming) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("POST", "/echo",
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"));
  // 600 + 600 bytes: the second chunk crosses 1024. The stream never ends.
  std::string chunk = "258\r\n" + std::string(600, 'x') + "\r\n";
  c.send(chunk);
  c.send(chunk);
  auto r = c.read_reply(2s);
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(limits_test, chunked_body_within_the_limit) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("POST", "/echo",
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                     "200\r\n" + std::string(512, 'x') + "\r\n0\r\n\r\n"));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "512");
}

TEST_F(limits_test, header_section_over_16k_is_431) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("GET", "/get", "X-Big: " + std::string(17 * 1024, 'a') + "\r\n"));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.body.find("\"error\":\"headers_too_large\""), std::string::npos);
}

TEST_F(limits_test, header_section_far_over_the_limit_is_431) {
  start();
  raw_conn c{srv->port()};
  std::string many;
  for (int i = 0; i < 40; ++i)
    many += "X-H" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n";
  c.send(raw_request("GET", "/get", many));
  EXPECT_EQ(c.read_reply().status, 431);
}

TEST_F(limits_test, too_many_header_fields_is_431) {
  start();
  raw_conn c{srv->port()};
  std::string many;
  for (int i = 0; i < 101; ++i)
    many += "X-" + std::to_string(i) + ": v\r\n";
  c.send(raw_request("GET", "/get", many));
  EXPECT_EQ(c.read_reply().status, 431);
}

TEST_F(limits_test, header_fields_at_the_limit_are_fine) {
  start();
  raw_conn c{srv->port()};
  std::string many;
  for (int i = 0; i < 99; ++i) // plus Host = 100
    many += "X-" + std::to_string(i) + ": v\r\n";
  c.send(raw_request("GET", "/get", many));
  EXPECT_EQ(c.read_reply().status, 200);
}

TEST_F(limits_test, url_over_8k_is_414) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("GET", "/get?x=" + std::string(8 * 1024, 'q')));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 414);
  EXPECT_NE(r.body.find("\"error\":\"uri_too_long\""), std::string::npos);
}

TEST_F(limits_test, url_far_over_the_limit_is_414) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("GET", "/get?x=" + std::string(64 * 1024, 'q')));
  EXPECT_EQ(c.read_reply().status, 414);
}

TEST_F(limits_test, url_just_under_the_limit_is_fine) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("GET", "/get?x=" + std::string(8 * 1024 - 7, 'q')));
  EXPECT_EQ(c.read_reply().status, 200);
}

TEST_F(limits_test, wrong_content_type_is_415) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("POST", "/echo", "Content-Type: text/plain\r\nContent-Length: 2\r\n", "{}"));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 415);
  EXPECT_NE(r.body.find("\"error\":\"unsupported_media_type\""), std::string::npos);
}

TEST_F(limits_test, missing_content_type_is_415) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("POST", "/echo", "Content-Length: 2\r\n", "{}"));
  EXPECT_EQ(c.read_reply().status, 415);
}

TEST_F(limits_test, content_type_is_checked_before_the_body) {
  start();
  raw_conn c{srv->port()};
  c.send(raw_request("POST", "/echo", "Content-Type: text/plain\r\nContent-Length: 1000\r\n"));
  EXPECT_EQ(c.read_reply(2s).status, 415);
}

TEST_F(limits_test, json_with_charset_and_empty_post_are_accepted) {
  start();
  client c{srv->port()};
  EXPECT_EQ(c.request("POST", "/echo", "{}", {{"Content-Type", "application/json; charset=utf-8"}})
              .status,
            200);
  EXPECT_EQ(c.request("POST", "/echo").status, 200); // Content-Length: 0, no type needed
}

TEST_F(limits_test, per_ip_connection_cap) {
  auto cfg = test_config();
  cfg.max_connections_per_ip = 2;
  start(cfg);
  client a{srv->port()}, b{srv->port()};
  ASSERT_EQ(a.get("/get").status, 200); // both admitted
  ASSERT_EQ(b.get("/get").status, 200);
  raw_conn third{srv->port()};
  EXPECT_TRUE(third.closed_within(2s));
  EXPECT_EQ(srv->sample("millrace_http_connections_rejected_total{reason=\"max_connections_per_ip\"}"),
            1);
  EXPECT_EQ(a.get("/get").status, 200); // the admitted ones keep working
  EXPECT_EQ((*srv)->connections(), 2u);
}

TEST_F(limits_test, total_connection_cap) {
  auto cfg = test_config();
  cfg.max_connections = 1;
  start(cfg);
  client a{srv->port()};
  ASSERT_EQ(a.get("/get").status, 200);
  raw_conn second{srv->port()};
  EXPECT_TRUE(second.closed_within(2s));
  EXPECT_EQ(srv->sample("millrace_http_connections_rejected_total{reason=\"max_connections\"}"), 1);
}

TEST_F(limits_test, cap_frees_up_when_a_connection_closes) {
  auto cfg = test_config();
  cfg.max_connections_per_ip = 1;
  start(cfg);
  {
    raw_conn a{srv->port()};
    a.send(raw_request("GET", "/get", "Connection: close\r\n"));
    EXPECT_EQ(a.read_reply().status, 200);
    EXPECT_TRUE(a.closed_within(2s));
  }
  // The server unregisters the first connection once the linger ends.
  ASSERT_TRUE(eventually([&] { return (*srv)->connections() == 0; }));
  client b{srv->port()};
  EXPECT_EQ(b.get("/get").status, 200);
}
