// Handlers and responders: answer at once, from another thread, later,
// never, twice, dropped, throwing; the answer after the client left.

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "http_harness.hpp"

using namespace millrace::test::http;
using namespace millrace::api::http;
using namespace std::chrono_literals;

namespace {

/// Responders parked by handlers; the test takes them out when it wants.
class parking {
public:
  handler park() {
    return [this](request&&, route_match&&, responder r) {
      std::lock_guard<std::mutex> g{m_};
      parked_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  /// Waits until a responder is parked and takes it.
  responder take() {
    std::unique_lock<std::mutex> l{m_};
    cv_.wait(l, [&] { return !parked_.empty(); });
    auto r = std::move(parked_.front());
    parked_.pop_front();
    return r;
  }

private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<responder> parked_;
};

/// A thread that answers whatever is handed to it: the actor hop.
class worker {
public:
  worker() : t_([this] { run(); }) {
    // nop
  }
  ~worker() {
    {
      std::lock_guard<std::mutex> g{m_};
      stop_ = true;
    }
    cv_.notify_all();
    t_.join();
  }
  handler hop(std::string body) {
    return [this, body](request&&, route_match&&, responder r) {
      std::lock_guard<std::mutex> g{m_};
      q_.emplace_back(std::move(r), body);
      cv_.notify_all();
    };
  }

private:
  void run() {
    std::unique_lock<std::mutex> l{m_};
    for (;;) {
      cv_.wait(l, [&] { return stop_ || !q_.empty(); });
      if (q_.empty())
        return;
      auto [r, body] = std::move(q_.front());
      q_.pop_front();
      l.unlock();
      r(response{200, "text/plain", body, {}});
      l.lock();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::pair<responder, std::string>> q_;
  bool stop_ = false;
  std::thread t_;
};

class responder_test : public ::testing::Test {
protected:
  void start(server_config cfg = test_config()) {
    srv = std::make_unique<test_server>(cfg);
    (*srv)->add_route("GET", "/now", [](request&&, route_match&&, responder r) {
      r(response{200, "text/plain", "now", {}});
    });
    (*srv)->add_route("GET", "/hop", hops.hop("hopped"));
    (*srv)->add_route("GET", "/park", parked.park());
    (*srv)->add_route("GET", "/twice", [](request&&, route_match&&, responder r) {
      r(response{200, "text/plain", "first", {}});
      r(response{201, "text/plain", "second", {}});
    });
    (*srv)->add_route("GET", "/drop", [](request&&, route_match&&, responder) {});
    (*srv)->add_route("GET", "/throw", [](request&&, route_match&&, responder) {
      throw std::runtime_error("handler bug");
    });
    (*srv)->add_route("GET", "/bad-status", [](request&&, route_match&&, responder r) {
      r(response{42, "text/plain", "?", {}});
    });
    srv->start();
  }
  worker hops;
  parking parked;
  std::unique_ptr<test_server> srv;
};

} // namespace

TEST_F(responder_test, answer_at_once) {
  start();
  client c{srv->port()};
  EXPECT_EQ(c.get("/now").body, "now");
}

TEST_F(responder_test, answer_from_another_thread) {
  start();
  client c{srv->port()};
  for (int i = 0; i < 50; ++i) {
    auto r = c.get("/hop");
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body, "hopped");
  }
}

TEST_F(responder_test, answer_later_from_the_test_thread) {
  start();
  auto pending = std::async(std::launch::async, [&] {
    client c{srv->port()};
    return c.get("/park");
  });
  auto r = parked.take(); // the request is in the handler now
  EXPECT_EQ(pending.wait_for(0ms), std::future_status::timeout);
  r(response{202, "application/json", "{}", {}});
  auto got = pending.get();
  EXPECT_EQ(got.status, 202);
  EXPECT_EQ(got.body, "{}");
}

TEST_F(responder_test, never_answered_gives_503_and_the_late_answer_is_dropped) {
  auto cfg = test_config();
  cfg.response_timeout = 200ms;
  start(cfg);
  client c{srv->port()};
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.get("/park");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("\"error\":\"unavailable\""), std::string::npos);
  auto late = parked.take();
  late(response{200, "text/plain", "late", {}}); // must not reach the next request
  auto next = c.get("/now");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "now");
}

TEST_F(responder_test, second_answer_is_ignored) {
  start();
  client c{srv->port()};
  auto r = c.get("/twice");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "first");
  auto next = c.get("/now");
  EXPECT_EQ(next.body, "now");
}

TEST_F(responder_test, dropped_responder_answers_500) {
  start();
  client c{srv->port()};
  auto r = c.get("/drop");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("\"error\":\"internal\""), std::string::npos);
  EXPECT_EQ(srv->sample("millrace_http_responders_dropped_total"), 1);
  EXPECT_EQ(c.get("/now").status, 200);
}

TEST_F(responder_test, throwing_handler_answers_500) {
  start();
  client c{srv->port()};
  EXPECT_EQ(c.get("/throw").status, 500);
  EXPECT_EQ(c.get("/now").status, 200);
}

TEST_F(responder_test, invalid_status_becomes_500) {
  start();
  client c{srv->port()};
  EXPECT_EQ(c.get("/bad-status").status, 500);
}

TEST_F(responder_test, answer_after_the_client_left) {
  start();
  {
    raw_conn c{srv->port()};
    c.send(raw_request("GET", "/park"));
    auto r = parked.take();
    c.shutdown_write();
    r(response{200, "text/plain", "nobody listens", {}});
  }
  client other{srv->port()};
  EXPECT_EQ(other.get("/now").status, 200);
}

TEST_F(responder_test, many_clients_hop_concurrently) {
  start();
  std::vector<std::future<int>> all;
  for (int k = 0; k < 8; ++k)
    all.push_back(std::async(std::launch::async, [&] {
      client c{srv->port()};
      int ok = 0;
      for (int i = 0; i < 50; ++i)
        ok += c.get(i % 2 ? "/hop" : "/now").status == 200;
      return ok;
    }));
  for (auto& f : all)
    EXPECT_EQ(f.get(), 50);
}

TEST(responder, outlives_the_server) {
  parking parked;
  responder kept;
  {
    test_server srv;
    srv->add_route("GET", "/park", parked.park());
    srv.start();
    raw_conn c{srv.port()};
    c.send(raw_request("GET", "/park"));
    kept = parked.take();
    srv->stop(100ms);
  }
  kept(response{200, "text/plain", "too late", {}}); // no crash, no leak
}
