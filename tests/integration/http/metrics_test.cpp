// Metrics registry and the text exposition format.

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "api/http/metrics.hpp"

using namespace millrace::api::http::metrics;

TEST(metrics, counter_with_labels) {
  registry reg;
  auto& f = reg.counters("millrace_test_total", "Things counted.", {"route", "status"});
  f.with({"/a", "200"}).inc();
  f.with({"/a", "200"}).inc(2);
  f.with({"/b", "404"}).inc();
  EXPECT_EQ(f.with({"/a", "200"}).value(), 3u);
  EXPECT_EQ(reg.render(), "# HELP millrace_test_total Things counted.\n"
                          "# TYPE millrace_test_total counter\n"
                          "millrace_test_total{route=\"/a\",status=\"200\"} 3\n"
                          "millrace_test_total{route=\"/b\",status=\"404\"} 1\n");
}

TEST(metrics, gauge_without_labels) {
  registry reg;
  auto& g = reg.gauges("millrace_open", "Open things.").with({});
  g.inc();
  g.inc(2.5);
  g.dec();
  EXPECT_DOUBLE_EQ(g.value(), 2.5);
  EXPECT_EQ(reg.render(), "# HELP millrace_open Open things.\n"
                          "# TYPE millrace_open gauge\n"
                          "millrace_open 2.5\n");
}

TEST(metrics, histogram_buckets_are_cumulative) {
  registry reg;
  auto& h = reg.histograms("millrace_latency_seconds", "Latency.", {"route"}, {0.25, 1, 10})
              .with({"/x"});
  h.observe(0.125);
  h.observe(0.25); // le is inclusive
  h.observe(0.5);
  h.observe(100);
  EXPECT_EQ(reg.render(), "# HELP millrace_latency_seconds Latency.\n"
                          "# TYPE millrace_latency_seconds histogram\n"
                          "millrace_latency_seconds_bucket{route=\"/x\",le=\"0.25\"} 2\n"
                          "millrace_latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
                          "millrace_latency_seconds_bucket{route=\"/x\",le=\"10\"} 3\n"
                          "millrace_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
                          "millrace_latency_seconds_sum{route=\"/x\"} 100.875\n"
                          "millrace_latency_seconds_count{route=\"/x\"} 4\n");
}

TEST(metrics, escaping) {
  registry reg;
  reg.counters("millrace_esc_total", "Help with \\ and\nnewline.", {"v"})
    .with({"a\"b\\c\nd"})
    .inc();
  EXPECT_EQ(reg.render(), "# HELP millrace_esc_total Help with \\\\ and\\nnewline.\n"
                          "# TYPE millrace_esc_total counter\n"
                          "millrace_esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(metrics, families_sorted_and_reregistration) {
  registry reg;
  auto& b = reg.counters("millrace_b_total", "b");
  reg.counters("millrace_a_total", "a");
  EXPECT_EQ(&reg.counters("millrace_b_total", "b"), &b);
  EXPECT_THROW(reg.gauges("millrace_b_total", "b"), std::invalid_argument);
  EXPECT_THROW(reg.counters("millrace_b_total", "b", {"x"}), std::invalid_argument);
  reg.histograms("millrace_h", "h", {}, {1, 2});
  EXPECT_THROW(reg.histograms("millrace_h", "h", {}, {1, 3}), std::invalid_argument);
  auto text = reg.render();
  EXPECT_LT(text.find("millrace_a_total"), text.find("millrace_b_total"));
}

TEST(metrics, rejects_bad_names) {
  registry reg;
  EXPECT_THROW(reg.counters("1bad", "x"), std::invalid_argument);
  EXPECT_THROW(reg.counters("bad-name", "x"), std::invalid_argument);
  EXPECT_THROW(reg.counters("ok_total", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(reg.histograms("ok_h", "x", {"le"}), std::invalid_argument);
  EXPECT_THROW(reg.histograms("ok_h2", "x", {}, {2, 1}), std::invalid_argument);
  auto& f = reg.counters("ok2_total", "x", {"a", "b"});
  EXPECT_THROW(f.with({"only one"}), std::invalid_argument);
}

TEST(metrics, cardinality_is_capped) {
  registry reg;
  auto& f = reg.counters("millrace_many_total", "x", {"k"});
  for (std::size_t i = 0; i < max_series + 10; ++i)
    f.with({std::to_string(i)}).inc();
  auto text = reg.render();
  EXPECT_NE(text.find("millrace_many_total{k=\"overflow\"} 10\n"), std::string::npos);
}

TEST(metrics, concurrent_increments_and_inserts) {
  registry reg;
  auto& f = reg.counters("millrace_conc_total", "x", {"k"});
  auto& h = reg.histograms("millrace_conc_seconds", "x", {}).with({});
  constexpr int threads = 4, per_thread = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        f.with({std::to_string(i % 50)}).inc();
        h.observe(0.001 * (t + 1));
        if (i % 1000 == 0)
          (void) reg.render();
      }
    });
  for (auto& t : ts)
    t.join();
  uint64_t total = 0;
  for (int k = 0; k < 50; ++k)
    total += f.with({std::to_string(k)}).value();
  EXPECT_EQ(total, static_cast<uint64_t>(threads) * per_thread);
  EXPECT_EQ(h.cumulative().back(), static_cast<uint64_t>(threads) * per_thread);
  EXPECT_NEAR(h.sum(), per_thread * 0.001 * (1 + 2 + 3 + 4), 1e-6);
}
