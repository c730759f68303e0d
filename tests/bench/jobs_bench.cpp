// millrace-bench-jobs: the job path measured the way ../shared/peers measures
// graphile-worker, pg-boss, BullMQ and Celery, so the figures sit side by side
// (run it through run_all.sh with OURS_BENCH=...).
//
// Scenarios (all on a fresh database, everything in this process: storage,
// dispatcher, worker slots):
// - throughput (RUNS times): N noop jobs bulk-submitted (1000 per call, each
//   call answered once its jobs are committed; timed alone: enqueue_rate),
//   then NOOP_SLOTS worker slots started and timed until the dispatcher has
//   seen every completion committed; the count of completed rows is then
//   checked in the database.
// - latency: TRICKLE_N jobs, one every TRICKLE_GAP_MS, to idle noop slots;
//   from just before the submit call to the slot starting the attempt (the
//   job and its claim are committed before a slot is handed the job).
// - burst: BURST_N jobs submitted at once to NOOP_SLOTS idle slots; per slot,
//   the gap between finishing one attempt and starting the next.
// - bash, python: see process_bench.cpp.
//
// Output: `RESULT {json}` lines on stdout (peers' protocol), readable lines on
// stderr. Env: PGURL or MILLRACE_TEST_DATABASE_URL, N, RUNS, TRICKLE_N,
// TRICKLE_GAP_MS, BURST_N, NOOP_SLOTS, BASH_N, PROCESS_SLOTS, STANDBY, PYTHON_N, PREFETCH,
// REF_SECONDS, ONLY.

#include <map>

#include "tests/bench/bench_tree.hpp"
#include "tests/bench/bench_util.hpp"
#include "tests/bench/jobs_bench.hpp"
#include "tests/bench/process_bench.hpp"

#include "runtime/runtime.hpp"
#include "storage/pg/connection.hpp"

using namespace millrace;
using namespace millrace::bench;
using namespace std::chrono_literals;

namespace {

actors::job_spec noop_job(const std::string& created_by, std::string args = "{}") {
  actors::job_spec s;
  s.kind = actors::job_kind::noop;
  s.language = "noop";
  s.tag = "noop";
  s.args = std::move(args);
  s.created_by = created_by;
  return s;
}

actors::worker_config noop_workers(const jobs_settings& cfg, probe_log* probe) {
  actors::worker_config w;
  w.node = "bench";
  w.slots = static_cast<size_t>(cfg.noop_slots);
  w.tags = {"noop"};
  if (probe)
    w.slot.probe = [probe](const std::string& slot, const std::string&, const std::string& args,
                           bool start) { probe->record(slot, args, start); };
  return w;
}

/// Submits `specs` in calls of `per_call`, up to `in_flight` calls
/// outstanding; exits on any rejection.
void submit_all(bench_tree& t, const std::vector<actors::job_spec>& specs, size_t per_call,
                size_t in_flight) {
  caf::scoped_actor self{t.system(), true};
  auto d = t.dispatcher();
  auto call = [&](size_t from) {
    auto end = std::min(specs.size(), from + per_call);
    std::vector<actors::job_spec> chunk(specs.begin() + static_cast<long>(from),
                                        specs.begin() + static_cast<long>(end));
    return self->request(d, 120s, actors::submit_atom_v, std::move(chunk));
  };
  using handle = decltype(call(0));
  std::vector<handle> calls;
  size_t answered = 0;
  auto await_one = [&] {
    calls[answered++].receive(
      [&](std::vector<actors::submit_reply>& rs) {
        for (auto& r : rs)
          if (!r.error.empty()) {
            std::fprintf(stderr, "submit rejected: %s\n", r.error.c_str());
            std::exit(1);
          }
      },
      [&](caf::error& e) {
        std::fprintf(stderr, "submit failed: %s\n", actors::describe(e).c_str());
        std::exit(1);
      });
  };
  for (size_t next = 0; next < specs.size(); next += per_call) {
    calls.push_back(call(next));
    if (calls.size() - answered >= in_flight)
      await_one();
  }
  while (answered < calls.size())
    await_one();
}

uint64_t count_completed(const std::string& conninfo, const std::string& created_by) {
  storage::pg::connection c{storage::pg::connect_options{conninfo}};
  auto rs = c.query("SELECT count(*) FROM job_completed WHERE created_by = $1 AND status = "
                    "'success'",
                    {created_by});
  return std::stoull(rs.rows.at(0).at(0).text);
}

void throughput(const jobs_settings& cfg, int run) {
  auto who = "bench-throughput-" + std::to_string(run);
  std::vector<actors::job_spec> specs;
  specs.reserve(cfg.n);
  for (uint64_t i = 0; i < cfg.n; ++i)
    specs.push_back(noop_job(who));
  bench_tree t{cfg.conninfo};
  auto e0 = now_ns();
  submit_all(t, specs, 1000, 1);
  auto enqueue_s = static_cast<double>(now_ns() - e0) / 1e9;

  auto cpu0 = cpu_seconds();
  auto busy0 = machine_busy_seconds();
  auto g0 = now_ns();
  t.start_workers(noop_workers(cfg, nullptr));
  t.wait_until([&](const actors::dispatcher_stats& s) { return s.completed >= cfg.n; },
               std::chrono::milliseconds{1});
  auto drain_s = static_cast<double>(now_ns() - g0) / 1e9;
  auto cpu = cpu_seconds() - cpu0;
  auto busy = machine_busy_seconds() - busy0;
  auto in_db = count_completed(cfg.conninfo, who);
  if (in_db != cfg.n) {
    std::fprintf(stderr, "throughput run %d: %llu of %llu completions in the database\n", run,
                 static_cast<unsigned long long>(in_db), static_cast<unsigned long long>(cfg.n));
    std::exit(1);
  }
  auto k = static_cast<double>(cfg.n) / 1000.0;
  emit("throughput",
       "\"run\":" + std::to_string(run) + ",\"n\":" + std::to_string(cfg.n)
         + ",\"enqueue_rate\":" + fmt(static_cast<double>(cfg.n) / enqueue_s)
         + ",\"throughput\":" + fmt(static_cast<double>(cfg.n) / drain_s)
         + ",\"cpu_ms_per_1000_process\":" + fmt(cpu * 1000 / k)
         + ",\"cpu_ms_per_1000_machine\":" + fmt(busy * 1000 / k) + ",\"settings\":\""
         + std::to_string(cfg.noop_slots)
         + " noop slots, bulk submit 1000 per call, durable completion counted\"");
}

void latency(const jobs_settings& cfg) {
  probe_log probe;
  bench_tree t{cfg.conninfo};
  t.start_workers(noop_workers(cfg, &probe));
  auto slots = static_cast<uint64_t>(cfg.noop_slots);
  t.wait_until([&](const actors::dispatcher_stats& s) { return s.idle_slots == slots; });
  caf::scoped_actor self{t.system(), true};
  auto d = t.dispatcher();
  std::vector<double> ack_ms;
  auto submit_one = [&](bool timed) {
    auto t0 = now_ns();
    self->request(d, 30s, actors::submit_atom_v, noop_job("bench-latency",
                                                         "{\"t\":" + std::to_string(t0) + "}"))
      .receive([&](actors::submit_reply&) {},
               [&](caf::error& e) {
                 std::fprintf(stderr, "submit failed: %s\n", actors::describe(e).c_str());
                 std::exit(1);
               });
    if (timed)
      ack_ms.push_back(static_cast<double>(now_ns() - t0) / 1e6);
  };
  for (int i = 0; i < 10; ++i)
    submit_one(false);
  std::this_thread::sleep_for(1s);
  probe.take();
  auto w0 = t.writer_stats();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < cfg.trickle_n; ++i) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds{cfg.trickle_gap_ms} * i);
    submit_one(true);
  }
  t.wait_until([&](const actors::dispatcher_stats& s) {
    return s.completed >= 10 + static_cast<uint64_t>(cfg.trickle_n);
  });
  auto w1 = t.writer_stats();
  // Where the time goes: each job is two batches of the writer (its
  // submission with its claim, then its completion); the mean batch time is
  // from the writer taking a batch to answering it, of which "server" is the
  // wait for PostgreSQL (send, execute, commit).
  auto batches = static_cast<double>(std::max<uint64_t>(1, w1.batches - w0.batches));
  double batch_ms = static_cast<double>(w1.commit_micros - w0.commit_micros) / batches / 1e3;
  double server_ms = static_cast<double>(w1.server_micros - w0.server_micros) / batches / 1e3;
  // The floor of thread hand-offs on this machine, for comparison: a
  // request to an idle actor and its answer (two wake-ups of sleeping
  // threads), at the same pace.
  std::vector<double> idle_rtt;
  {
    // (An argument: spawning a function of no arguments trips UBSan in CAF.)
    auto echo = t.system().spawn(
      [](caf::event_based_actor*, int) -> caf::behavior { return {[](int x) { return x; }}; }, 0);
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < cfg.trickle_n; ++i) {
      std::this_thread::sleep_until(t1 + std::chrono::milliseconds{cfg.trickle_gap_ms} * i);
      auto t0 = now_ns();
      self->request(echo, 30s, i).receive([](int) {}, [](caf::error&) {});
      idle_rtt.push_back(static_cast<double>(now_ns() - t0) / 1e6);
    }
    self->send_exit(echo, caf::exit_reason::user_shutdown);
  }
  std::vector<double> lat;
  for (auto& e : probe.take())
    if (e.start && e.arg_t != 0)
      lat.push_back(static_cast<double>(e.at_ns - e.arg_t) / 1e6);
  auto max = lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end());
  emit("latency", "\"n\":" + std::to_string(lat.size()) + ",\"gap_ms\":"
                    + std::to_string(cfg.trickle_gap_ms) + ",\"p50_ms\":"
                    + fmt(percentile(lat, 50), 3) + ",\"p99_ms\":" + fmt(percentile(lat, 99), 3)
                    + ",\"max_ms\":" + fmt(max, 3) + ",\"ack_p50_ms\":"
                    + fmt(percentile(ack_ms, 50), 3) + ",\"ack_p99_ms\":"
                    + fmt(percentile(ack_ms, 99), 3) + ",\"writer_batches\":"
                    + std::to_string(w1.batches - w0.batches) + ",\"batch_mean_ms\":"
                    + fmt(batch_ms, 3) + ",\"server_mean_ms\":" + fmt(server_ms, 3)
                    + ",\"idle_actor_rtt_p50_ms\":" + fmt(percentile(idle_rtt, 50), 3)
                    + ",\"settings\":\"submit call start -> slot starts the attempt; "
                      "job and claim committed first\"");
}

void burst(const jobs_settings& cfg) {
  probe_log probe;
  bench_tree t{cfg.conninfo};
  t.start_workers(noop_workers(cfg, &probe));
  auto slots = static_cast<uint64_t>(cfg.noop_slots);
  t.wait_until([&](const actors::dispatcher_stats& s) { return s.idle_slots == slots; });
  std::vector<actors::job_spec> specs;
  for (uint64_t i = 0; i < cfg.burst_n; ++i)
    specs.push_back(noop_job("bench-burst"));
  auto base = t.stats().completed;
  auto t0 = now_ns();
  submit_all(t, specs, cfg.burst_call, specs.size());
  t.wait_until(
    [&](const actors::dispatcher_stats& s) { return s.completed >= base + cfg.burst_n; },
    std::chrono::milliseconds{1});
  auto wall = static_cast<double>(now_ns() - t0) / 1e9;
  std::map<std::string, std::vector<probe_log::event>> by_slot;
  for (auto& e : probe.take())
    by_slot[e.slot].push_back(e);
  std::vector<double> gaps;
  for (auto& [slot, evs] : by_slot) {
    std::stable_sort(evs.begin(), evs.end(),
                     [](const auto& a, const auto& b) { return a.at_ns < b.at_ns; });
    for (size_t i = 1; i < evs.size(); ++i)
      if (evs[i].start && !evs[i - 1].start)
        gaps.push_back(static_cast<double>(evs[i].at_ns - evs[i - 1].at_ns) / 1e6);
  }
  auto max = gaps.empty() ? 0.0 : *std::max_element(gaps.begin(), gaps.end());
  emit("burst", "\"n\":" + std::to_string(cfg.burst_n) + ",\"slots\":"
                  + std::to_string(cfg.noop_slots) + ",\"gaps\":" + std::to_string(gaps.size())
                  + ",\"gap_p50_ms\":" + fmt(percentile(gaps, 50), 3) + ",\"gap_p99_ms\":"
                  + fmt(percentile(gaps, 99), 3) + ",\"gap_max_ms\":" + fmt(max, 3)
                  + ",\"jobs_per_s\":" + fmt(static_cast<double>(cfg.burst_n) / wall));
}

bool wanted(const jobs_settings& cfg, const char* name) {
  return cfg.only.empty() || cfg.only == name;
}

} // namespace

int main(int argc, char** argv) {
  auto cfg = settings_from_env();
  bench_database db{server_from_env(argc, argv)};
  cfg.conninfo = db.conninfo();
  runtime::install_support_files();
  if (wanted(cfg, "throughput"))
    for (int run = 1; run <= cfg.runs; ++run)
      throughput(cfg, run);
  if (wanted(cfg, "latency"))
    latency(cfg);
  if (wanted(cfg, "burst"))
    burst(cfg);
  if (wanted(cfg, "bash"))
    bash_throughput(cfg);
  if (wanted(cfg, "python"))
    python_overhead(cfg);
  return 0;
}
