#include "tests/bench/process_bench.hpp"

#include "sandbox/launcher.hpp"
#include "tests/bench/bench_tree.hpp"
#include "tests/bench/bench_util.hpp"

namespace millrace::bench {

namespace {

using namespace std::chrono_literals;

actors::worker_config process_workers(const jobs_settings& cfg, size_t slots, std::string tag,
                                      probe_log* probe) {
  actors::worker_config w;
  w.node = "bench";
  w.slots = slots;
  w.tags = {std::move(tag)};
  sandbox::launcher_config lc;
  lc.standby = static_cast<size_t>(cfg.standby);
  lc.reuse = cfg.reuse;
  w.slot.launcher = std::shared_ptr<sandbox::launcher>{sandbox::make_bwrap_launcher(lc)};
  if (probe)
    w.slot.probe = [probe](const std::string& slot, const std::string&, const std::string& args,
                           bool start) { probe->record(slot, args, start); };
  return w;
}

actors::job_spec preview(const std::string& language, const std::string& code) {
  actors::job_spec s;
  s.kind = actors::job_kind::preview;
  s.language = language;
  s.code = code;
  s.created_by = "bench-" + language;
  return s;
}

} // namespace

void bash_throughput(const jobs_settings& cfg) {
  auto slots = static_cast<size_t>(cfg.process_slots);
  auto raw = measure_spawn(bwrap_argv({"/bin/true"}), cfg.process_slots, cfg.ref_seconds);
  emit("spawn_ref", "\"cmd\":\"bwrap --unshare-all ... /bin/true\",\"parallel\":"
                      + std::to_string(cfg.process_slots) + ",\"per_s\":" + fmt(raw.per_s)
                      + ",\"p50_ms\":" + fmt(raw.p50_ms, 2));
  bench_tree t{cfg.conninfo};
  std::vector<actors::job_spec> specs(cfg.bash_n, preview("bash", "echo hello\n"));
  {
    caf::scoped_actor self{t.system(), true};
    self->request(t.dispatcher(), 120s, actors::submit_atom_v, specs)
      .receive(
        [&](std::vector<actors::submit_reply>& rs) {
          for (auto& r : rs)
            if (!r.error.empty()) {
              std::fprintf(stderr, "submit rejected: %s\n", r.error.c_str());
              std::exit(1);
            }
        },
        [](caf::error& e) {
          std::fprintf(stderr, "submit failed: %s\n", actors::describe(e).c_str());
          std::exit(1);
        });
  }
  auto cpu0 = cpu_seconds();
  auto busy0 = machine_busy_seconds();
  auto t0 = now_ns();
  t.start_workers(process_workers(cfg, slots, "bash", nullptr));
  // Polled every 10 ms: at most 0.3 % of a run of several seconds, and the
  // poll (a request to the dispatcher, a wake-up of three threads) does not
  // take the CPU this scenario is bound by (at 1 ms it made two thirds of
  // the actor clock's events).
  t.wait_until([&](const actors::dispatcher_stats& s) { return s.completed >= cfg.bash_n; },
               10ms);
  auto wall = static_cast<double>(now_ns() - t0) / 1e9;
  auto cpu = cpu_seconds() - cpu0;
  auto busy = machine_busy_seconds() - busy0;
  auto rate = static_cast<double>(cfg.bash_n) / wall;
  // The reference again, right after: this box drifts by tens of percent
  // within a minute, and the ratio is taken against the mean of both.
  auto raw_after = measure_spawn(bwrap_argv({"/bin/true"}), cfg.process_slots, cfg.ref_seconds);
  auto raw_mean = (raw.per_s + raw_after.per_s) / 2;
  auto k = static_cast<double>(cfg.bash_n) / 1000.0;
  storage::pg::connection c{storage::pg::connect_options{cfg.conninfo}};
  auto ok = c.query("SELECT count(*) FROM job_completed WHERE created_by = 'bench-bash' AND "
                    "status = 'success' AND result = '\"hello\"'::jsonb")
              .rows.at(0)
              .at(0)
              .text;
  if (std::stoull(ok) != cfg.bash_n) {
    std::fprintf(stderr, "bash: only %s of %llu jobs succeeded with result \"hello\"\n",
                 ok.c_str(), static_cast<unsigned long long>(cfg.bash_n));
    auto bad = c.query("SELECT job_id::text, status, attempt::text, coalesce(result::text, '') "
                       "FROM job_completed WHERE created_by = 'bench-bash' AND (status <> "
                       "'success' OR result IS DISTINCT FROM '\"hello\"'::jsonb) LIMIT 5");
    for (auto& row : bad.rows)
      std::fprintf(stderr, "  %s %s attempt %s: %s\n", row.at(0).text.c_str(),
                   row.at(1).text.c_str(), row.at(2).text.c_str(), row.at(3).text.c_str());
    std::exit(1);
  }
  emit("bash", "\"n\":" + std::to_string(cfg.bash_n) + ",\"slots\":" + std::to_string(slots)
                 + ",\"standby\":" + std::to_string(cfg.standby) + ",\"reuse\":" + (cfg.reuse ? "true" : "false")
                 + ",\"jobs_per_s\":" + fmt(rate)
                 + ",\"raw_bwrap_true_per_s\":" + fmt(raw_mean) + ",\"raw_before_per_s\":"
                 + fmt(raw.per_s) + ",\"raw_after_per_s\":" + fmt(raw_after.per_s)
                 + ",\"ratio\":" + fmt(rate / raw_mean, 3)
                 + ",\"cpu_ms_per_1000_process\":" + fmt(cpu * 1000 / k)
                 + ",\"cpu_ms_per_1000_machine\":" + fmt(busy * 1000 / k));
}

void python_overhead(const jobs_settings& cfg) {
  auto bare = measure_spawn({"/usr/bin/python3", "-c", "pass"}, 1, cfg.ref_seconds);
  auto boxed = measure_spawn(bwrap_argv({"/usr/bin/python3", "-c", "pass"}), 1, cfg.ref_seconds);
  probe_log probe;
  bench_tree t{cfg.conninfo};
  t.start_workers(process_workers(cfg, 1, "python3", &probe));
  t.wait_until([&](const actors::dispatcher_stats& s) { return s.idle_slots == 1; });
  caf::scoped_actor self{t.system(), true};
  auto d = t.dispatcher();
  std::vector<double> e2e;
  auto code = std::string{"def main(x: int = 1):\n    return x\n"};
  for (int i = -3; i < cfg.python_n; ++i) {
    if (i == 0)
      probe.take();
    auto t0 = now_ns();
    std::string id;
    self->request(d, 30s, actors::submit_atom_v, preview("python3", code))
      .receive([&](actors::submit_reply& r) { id = r.job_id; },
               [](caf::error& e) {
                 std::fprintf(stderr, "submit failed: %s\n", actors::describe(e).c_str());
                 std::exit(1);
               });
    self->request(d, 60s, actors::wait_atom_v, id)
      .receive(
        [&](actors::job_result& r) {
          if (r.status != "success" || r.result != "1") {
            std::fprintf(stderr, "python job %s: %s %s\n", id.c_str(), r.status.c_str(),
                         r.result.c_str());
            std::exit(1);
          }
        },
        [](caf::error& e) {
          std::fprintf(stderr, "wait failed: %s\n", actors::describe(e).c_str());
          std::exit(1);
        });
    if (i >= 0)
      e2e.push_back(static_cast<double>(now_ns() - t0) / 1e6);
  }
  std::vector<double> job;
  int64_t started = 0;
  for (auto& e : probe.take()) {
    if (e.start)
      started = e.at_ns;
    else if (started)
      job.push_back(static_cast<double>(e.at_ns - started) / 1e6);
  }
  auto p50 = percentile(job, 50);
  emit("python", "\"n\":" + std::to_string(job.size()) + ",\"standby\":" + std::to_string(cfg.standby)
                   + ",\"job_p50_ms\":" + fmt(p50, 2)
                   + ",\"job_p99_ms\":" + fmt(percentile(job, 99), 2)
                   + ",\"bare_python_p50_ms\":" + fmt(bare.p50_ms, 2)
                   + ",\"bwrap_python_p50_ms\":" + fmt(boxed.p50_ms, 2)
                   + ",\"overhead_p50_ms\":" + fmt(p50 - bare.p50_ms, 2)
                   + ",\"submit_to_result_p50_ms\":" + fmt(percentile(e2e, 50), 2));
}

} // namespace millrace::bench
