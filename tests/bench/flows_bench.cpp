// millrace-bench-flows: the flow engine's figures (issue: flow engine).
//   1. per-step overhead: a flow of STEPS identity steps;
//   2. a 3-step identity flow, submitted and awaited LAT_N times: latency;
//   3. Windmill's "40 lightweight tasks": LIGHT_N sequential python fibo(10)
//      steps on one worker slot; total and overhead above the steps' own time;
//   4. Windmill's "10 long tasks": LONG_N sequential python fibo(33) steps;
//   5. a LOOP_N-iteration parallel loop (parallelism 8) of identity steps.
// Needs MILLRACE_TEST_DATABASE_URL (make bench-flows starts a PostgreSQL).

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "actors/flow/flow_engine.hpp"
#include "runtime/expr/evaluator.hpp"
#include "runtime/runtime.hpp"
#include "sandbox/launcher.hpp"
#include "tests/bench/bench_tree.hpp"
#include "tests/bench/bench_util.hpp"

using namespace millrace;
using clk = std::chrono::steady_clock;

namespace {

size_t env_n(const char* name, size_t def) {
  auto* v = std::getenv(name);
  return v ? std::strtoul(v, nullptr, 10) : def;
}

double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

struct flow_runner {
  bench::bench_tree& tree;
  actors::job_result run(const std::string& value, const std::string& args = "{}") {
    caf::scoped_actor self{tree.system(), true};
    actors::job_spec s;
    s.kind = actors::job_kind::flowpreview;
    s.code = value;
    s.args = args;
    std::string id;
    self->request(tree.dispatcher(), std::chrono::seconds{60}, actors::submit_atom_v, s)
      .receive([&](actors::submit_reply& r) { id = r.job_id; },
               [](caf::error& e) {
                 std::fprintf(stderr, "submit: %s\n", actors::describe(e).c_str());
                 std::exit(1);
               });
    actors::job_result out;
    self->request(tree.dispatcher(), std::chrono::seconds{3600}, actors::wait_atom_v, id)
      .receive([&](actors::job_result& r) { out = r; },
               [](caf::error& e) {
                 std::fprintf(stderr, "wait: %s\n", actors::describe(e).c_str());
                 std::exit(1);
               });
    if (out.status != actors::job_status::success) {
      std::fprintf(stderr, "flow %s ended %s: %s\n", id.c_str(), out.status.c_str(),
                   out.result.c_str());
      std::exit(1);
    }
    return out;
  }
};

std::string identity_modules(size_t n, const std::string& prefix) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += (i ? "," : "") + std::string{R"({"id":")"} + prefix + std::to_string(i)
           + R"(","value":{"type":"identity"}})";
  return out;
}

std::string python_steps(size_t n, int fib) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += (i ? "," : "") + std::string{R"({"id":"t)"} + std::to_string(i)
           + R"(","value":{"type":"rawscript","language":"python3","content":"def main(n: int):\n    def fibo(x):\n        return x if x < 2 else fibo(x - 1) + fibo(x - 2)\n    return fibo(n)\n","input_transforms":{"n":{"type":"static","value":)"
           + std::to_string(fib) + "}}}}";
  return out;
}

// The sum of the step jobs' own durations (claim to completion) of a flow.
double steps_ms(const std::string& conninfo, const std::string& flow_id) {
  storage::pg::connection c{storage::pg::connect_options{conninfo}};
  auto rs = c.query("SELECT COALESCE(sum(c.duration_ms), 0) FROM job j JOIN job_completed c "
                    "ON c.job_id = j.id WHERE j.parent_job = $1",
                    {flow_id});
  return std::stod(rs.rows[0][0].text);
}

void sequential_tasks(flow_runner& fr, const std::string& conninfo, const char* name, size_t n,
                      int fib) {
  if (n == 0)
    return;
  auto value = "{\"modules\":[" + python_steps(n, fib) + "]}";
  auto t0 = clk::now();
  auto r = fr.run(value);
  double total = ms_since(t0);
  double own = steps_ms(conninfo, r.job_id);
  std::printf("%s: %zu sequential python fibo(%d) steps, 1 worker slot: total %.0f ms, "
              "steps' own time %.0f ms, overhead %.0f ms (%.1f ms per step)\n",
              name, n, fib, total, own, total - own, (total - own) / static_cast<double>(n));
}

} // namespace

int main(int argc, char** argv) {
  runtime::install_support_files();
  bench::bench_database db{bench::server_from_env(argc, argv)};
  bench::bench_tree tree{db.conninfo()};
  actors::worker_config wc;
  wc.slots = 1; // Windmill's scenarios use one worker
  wc.tags = {"bash", "python3", "noop"};
  sandbox::launcher_config lc;
  wc.slot.launcher = std::shared_ptr<sandbox::launcher>{sandbox::make_bwrap_launcher(lc)};
  tree.start_workers(wc);
  actors::flow_engine_config fc;
  fc.slots = 8;
  auto spec = actors::flow_engine_spec(fc);
  auto engine = spec.start(actors::child_context{tree.system(), actors::paths::flows,
                                                 tree.registry()});
  auto want = 1 + actors::initial_flow_slots(fc);
  tree.wait_until([want](const actors::dispatcher_stats& s) { return s.slots == want; });
  flow_runner fr{tree};

  auto steps = env_n("STEPS", 1000);
  auto runs = env_n("RUNS", 3);
  for (size_t k = 0; k < runs; ++k) {
    auto value = "{\"modules\":[" + identity_modules(steps, "s") + "]}";
    auto t0 = clk::now();
    fr.run(value);
    double ms = ms_since(t0);
    std::printf("per-step: %zu identity steps in %.1f ms: %.3f ms per step\n", steps, ms,
                ms / static_cast<double>(steps));
  }

  auto lat_n = env_n("LAT_N", 300);
  std::vector<double> lat;
  auto three = "{\"modules\":[" + identity_modules(3, "i") + "]}";
  for (size_t k = 0; k < lat_n; ++k) {
    auto t0 = clk::now();
    fr.run(three, R"({"x":1})");
    lat.push_back(ms_since(t0));
  }
  if (!lat.empty())
    std::printf("3-step identity flow, submit to result (%zu runs): p50 %.2f ms, p99 %.2f ms\n",
                lat_n, bench::percentile(lat, 50), bench::percentile(lat, 99));

  sequential_tasks(fr, db.conninfo(), "40 lightweight tasks", env_n("LIGHT_N", 40), 10);
  sequential_tasks(fr, db.conninfo(), "10 long tasks", env_n("LONG_N", 10), 33);

  auto loop_n = env_n("LOOP_N", 1000);
  if (loop_n > 0) {
    auto value = std::string{R"J({"modules":[{"id":"loop","value":{"type":"forloopflow",
        "iterator":{"type":"javascript","expr":"Array.from({length: flow_input.n}, (_, i) => i)"},
        "skip_failures":false,"parallel":true,"parallelism":8,"modules":[
        {"id":"noop","value":{"type":"identity"}}]}}]})J"};
    auto t0 = clk::now();
    fr.run(value, "{\"n\":" + std::to_string(loop_n) + "}");
    std::printf("parallel loop: %zu iterations of an identity step, parallelism 8: %.1f ms\n",
                loop_n, ms_since(t0));
  }
  caf::scoped_actor self{tree.system(), true};
  self->monitor(engine);
  self->send_exit(engine, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {});
  return 0;
}
