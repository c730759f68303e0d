// Storage benchmark: durable job inserts through the storage writer actor,
// the commit latency a sender sees (at low load and at a steady 20k/s), and in
// the same run, on the same database, the naive baseline: one autocommit
// statement per job from several client threads.
//
// Two workloads, each measured through the storage actor and with the naive
// baseline (the same statement, one job per autocommit transaction):
// - "job row": one INSERT of a job definition row per job (table `job`), the
//   unit the storage targets are stated in;
// - "submission": what Millrace writes to accept a job (statement
//   enqueue_job): the definition, its live queue row and its "queued" event,
//   three rows and three index entries.
//
// Usage: millrace-bench-storage [--n 200000] [--senders 16] [--window 512]
//                               [--baseline-threads 4] [--seconds 5]
//                               [--rate 20000] [--workload row|submission|both]
//                               [--database-url CONNINFO]

#include <atomic>
#include <cinttypes>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <libpq-fe.h>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/storage/storage_tree.hpp"
#include "actors/system/actor_config.hpp"
#include "tests/bench/bench_util.hpp"
#include "tests/bench/storage_workload.hpp"

using namespace millrace;
using namespace millrace::actors;
using namespace millrace::bench;
using clk = std::chrono::steady_clock;

namespace {

using bench_tick_atom = caf::atom_constant<caf::atom("btick")>;
using go_atom = caf::atom_constant<caf::atom("bgo")>;

struct args_t {
  uint64_t n = 200000;
  int senders = 16;
  int window = 512;
  int baseline_threads = 4;
  int seconds = 5;
  int rate = 20000;
  std::string workload = "both";
  int group = 1; // writes per message in the throughput test
  int connections = 2;
};

args_t parse(int argc, char** argv) {
  args_t a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    long long v = std::atoll(argv[i + 1]);
    if (k == "--n") a.n = static_cast<uint64_t>(v);
    else if (k == "--senders") a.senders = static_cast<int>(v);
    else if (k == "--window") a.window = static_cast<int>(v);
    else if (k == "--baseline-threads") a.baseline_threads = static_cast<int>(v);
    else if (k == "--seconds") a.seconds = static_cast<int>(v);
    else if (k == "--rate") a.rate = static_cast<int>(v);
    else if (k == "--workload") a.workload = argv[i + 1];
    else if (k == "--group") a.group = static_cast<int>(v);
    else if (k == "--connections") a.connections = static_cast<int>(v);
  }
  return a;
}


// -- closed-loop senders --------------------------------------------------------

struct sender_report {
  std::vector<double> lat_ms;
  std::vector<double> at_s; // send time (seconds since start) per latency, paced test only
  uint64_t errors = 0;
  std::string first_error;
};

struct sender_state {
  storage_writer_actor writer;
  uint64_t next = 0, end = 0, outstanding = 0;
  uint32_t run = 0;
  int group = 1;
  sender_report rep;
  caf::actor done_to;
};

void report_and_quit(caf::stateful_actor<sender_state>* self) {
  self->send(self->state.done_to, std::move(self->state.rep));
  self->quit();
}

void send_group(caf::stateful_actor<sender_state>* self);
void send_one(caf::stateful_actor<sender_state>* self);

// A request was answered (`error`: its failure, if any): send the next one,
// or report once every request is answered.
void answered(caf::stateful_actor<sender_state>* self, const std::string* error = nullptr) {
  auto& s = self->state;
  if (error && s.rep.errors++ == 0)
    s.rep.first_error = *error;
  --s.outstanding;
  if (s.next < s.end)
    send_one(self);
  else if (s.outstanding == 0)
    report_and_quit(self);
}

void send_one(caf::stateful_actor<sender_state>* self) {
  auto& st = self->state;
  if (st.group > 1)
    return send_group(self);
  auto n = st.next++;
  ++st.outstanding;
  auto t0 = clk::now();
  self->request(st.writer, caf::infinite, write_atom_v, job_write(n, st.run))
    .then(
      [self, t0](storage::result_set&) {
        self->state.rep.lat_ms.push_back(
          std::chrono::duration<double, std::milli>(clk::now() - t0).count());
        answered(self);
      },
      [self](caf::error& err) {
        auto why = describe(err);
        answered(self, &why);
      });
}

// Sends the next `group` writes as one message; every write of the group
// sees the group's round-trip as its latency.
void send_group(caf::stateful_actor<sender_state>* self) {
  auto& st = self->state;
  std::vector<storage::write_request> reqs;
  auto n = std::min<uint64_t>(static_cast<uint64_t>(st.group), st.end - st.next);
  reqs.reserve(n);
  for (uint64_t k = 0; k < n; ++k)
    reqs.push_back(job_write(st.next++, st.run));
  ++st.outstanding;
  auto t0 = clk::now();
  self->request(st.writer, caf::infinite, write_atom_v, std::move(reqs))
    .then(
      [self, t0](std::vector<storage::op_result>& rs) {
        auto& s = self->state;
        auto ms = std::chrono::duration<double, std::milli>(clk::now() - t0).count();
        for (auto& r : rs) {
          if (r.ok()) {
            s.rep.lat_ms.push_back(ms);
          } else if (s.rep.errors++ == 0) {
            s.rep.first_error = r.message;
          }
        }
        answered(self);
      },
      [self](caf::error& err) {
        auto why = describe(err);
        answered(self, &why);
      });
}

caf::behavior sender(caf::stateful_actor<sender_state>* self, storage_writer_actor writer,
                     uint64_t first, uint64_t count, int window, uint32_t run, caf::actor done_to,
                     int group) {
  auto& st = self->state;
  st.writer = writer;
  st.next = first;
  st.end = first + count;
  st.run = run;
  st.done_to = done_to;
  st.group = group;
  return {[self, window](go_atom) {
    for (int i = 0; i < window && self->state.next < self->state.end; ++i)
      send_one(self);
  }};
}

// -- open-loop paced sender -------------------------------------------------------

struct paced_state {
  clk::time_point start = clk::now();
  storage_writer_actor writer;
  uint64_t next = 0, expected = 0, answered = 0;
  uint32_t run = 0;
  sender_report rep;
  caf::actor done_to;
};

caf::behavior paced(caf::stateful_actor<paced_state>* self, storage_writer_actor writer,
                    uint64_t first, uint64_t count, uint32_t run, caf::actor done_to) {
  self->state.writer = writer;
  self->state.next = first;
  self->state.expected = count;
  self->state.run = run;
  self->state.done_to = done_to;
  auto finish = [self] {
    if (++self->state.answered == self->state.expected) {
      self->send(self->state.done_to, std::move(self->state.rep));
      self->quit();
    }
  };
  return {[self, finish](bench_tick_atom, int64_t sent_ns) {
    auto t0 = clk::time_point{std::chrono::nanoseconds{sent_ns}};
    self->request(self->state.writer, caf::infinite, write_atom_v,
                  job_write(self->state.next++, self->state.run))
      .then(
        [self, t0, finish](storage::result_set&) {
          self->state.rep.lat_ms.push_back(
            std::chrono::duration<double, std::milli>(clk::now() - t0).count());
          self->state.rep.at_s.push_back(
            std::chrono::duration<double>(t0 - self->state.start).count());
          finish();
        },
        [self, finish](caf::error& err) {
          if (self->state.rep.errors++ == 0)
            self->state.rep.first_error = describe(err);
          finish();
        });
  }};
}

void print_latency(const char* what, sender_report& r) {
  auto n = r.lat_ms.size();
  std::printf("  %-34s n=%zu  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  errors %" PRIu64
              "%s%s\n",
              what, n, bench::percentile(r.lat_ms, 50), bench::percentile(r.lat_ms, 90),
              bench::percentile(r.lat_ms, 99), bench::percentile(r.lat_ms, 100), r.errors,
              r.errors ? " first: " : "", r.first_error.c_str());
}

storage::writer_stats writer_stats_of(caf::scoped_actor& self, const storage_writer_actor& w) {
  storage::writer_stats out;
  self->request(w, std::chrono::seconds{10}, stats_atom_v)
    .receive([&](storage::writer_stats& s) { out = s; }, [](caf::error&) {});
  return out;
}


} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sender_report)

void run_workload(caf::actor_system& sys, const args_t& a, const std::string& server) {
  bench::bench_database db{server};
  writer_actor_config wc;
  wc.statements = &bench_statements();
  wc.connections = static_cast<size_t>(a.connections);
  wc.writer.connect = {db.conninfo(), std::chrono::seconds{5}, "millrace-bench"};
  wc.queue_max = 1000000;
  wc.write_timeout = std::chrono::seconds{120};
  auto writer = caf::actor_cast<storage_writer_actor>(spawn_storage_writer(sys, wc, "/bench/writer"));
  caf::scoped_actor self{sys};
  uint32_t run = static_cast<uint32_t>(::getpid()) * 4 + static_cast<uint32_t>(current);
  uint64_t next_id = 1;
  std::printf("\n== workload: %s ==\n", name_of(current));

  // 1. Low load: one sender, one write at a time.
  {
    sender_report r;
    auto s = sys.spawn(sender, writer, next_id, uint64_t{2000}, 1, run, caf::actor{self}, 1);
    next_id += 2000;
    self->send(s, go_atom::value);
    self->receive([&](sender_report& rep) { r = std::move(rep); });
    std::printf("commit latency seen by a sender:\n");
    print_latency("low load (1 write in flight)", r);
  }

  // 2. Steady 20k/s, open loop.
  {
    auto count = static_cast<uint64_t>(a.rate) * static_cast<uint64_t>(a.seconds);
    auto p = sys.spawn(paced, writer, next_id, count, run, caf::actor{self});
    next_id += count;
    std::thread pacer([&] {
      auto gap = std::chrono::nanoseconds{1000000000LL / a.rate};
      auto t = clk::now();
      for (uint64_t i = 0; i < count; ++i) {
        t += gap;
        std::this_thread::sleep_until(t);
        caf::anon_send(p, bench_tick_atom::value,
                       static_cast<int64_t>(clk::now().time_since_epoch().count()));
      }
    });
    sender_report r;
    self->receive([&](sender_report& rep) { r = std::move(rep); });
    pacer.join();
    char what[64];
    std::snprintf(what, sizeof(what), "steady %d writes/s for %d s", a.rate, a.seconds);
    if (std::getenv("BENCH_TIMELINE")) {
      // p99 per 250 ms window, to tell steady noise from periodic stalls.
      std::vector<std::vector<double>> win;
      for (size_t i = 0; i < r.at_s.size(); ++i) {
        auto k = static_cast<size_t>(r.at_s[i] * 4);
        if (win.size() <= k)
          win.resize(k + 1);
        win[k].push_back(r.lat_ms[i]);
      }
      std::printf("  p99 per 250 ms:");
      for (auto& w : win)
        std::printf(" %.1f", bench::percentile(w, 99));
      std::printf("\n");
    }
    print_latency(what, r);
  }

  // 3. Throughput: many senders, many writes in flight.
  double ours = 0;
  {
    auto before = writer_stats_of(self, writer);
    auto per = a.n / static_cast<uint64_t>(a.senders);
    std::vector<caf::actor> ss;
    for (int i = 0; i < a.senders; ++i) {
      ss.push_back(
        sys.spawn(sender, writer, next_id, per, a.window, run, caf::actor{self}, a.group));
      next_id += per;
    }
    auto cpu0 = bench::cpu_seconds();
    auto m0 = machine_cpu();
    auto t0 = clk::now();
    for (auto& s : ss)
      self->send(s, go_atom::value);
    sender_report all;
    for (int i = 0; i < a.senders; ++i)
      self->receive([&](sender_report& rep) {
        all.errors += rep.errors;
        if (all.first_error.empty())
          all.first_error = rep.first_error;
        all.lat_ms.insert(all.lat_ms.end(), rep.lat_ms.begin(), rep.lat_ms.end());
      });
    auto secs = std::chrono::duration<double>(clk::now() - t0).count();
    auto m1 = machine_cpu();
    auto cpu = bench::cpu_seconds() - cpu0;
    auto after = writer_stats_of(self, writer);
    auto total = per * static_cast<uint64_t>(a.senders);
    ours = static_cast<double>(total - all.errors) / secs;
    auto batches = after.batches - before.batches;
    std::printf("\nthroughput (%d senders x %d messages in flight, %d writes per message, %" PRIu64
                " jobs):\n",
                a.senders, a.window, a.group, total);
    std::printf("  storage actor: %.0f jobs/s durable (%.2f s), errors %" PRIu64 "\n", ours,
                secs, all.errors);
    std::printf("  batches %" PRIu64 ", mean batch %.0f writes, statement executions %" PRIu64
                ", max batch %" PRIu64 "\n",
                batches, batches ? static_cast<double>(after.writes - before.writes) / static_cast<double>(batches) : 0.0,
                after.executions - before.executions, after.max_batch);
    std::printf("  writer thread per batch: encode %.1f ms, server %.1f ms, decode %.1f ms; "
                "whole batch %.1f ms\n",
                (after.encode_micros - before.encode_micros) / 1e3 / static_cast<double>(batches),
                (after.server_micros - before.server_micros) / 1e3 / static_cast<double>(batches),
                (after.decode_micros - before.decode_micros) / 1e3 / static_cast<double>(batches),
                (after.commit_micros - before.commit_micros) / 1e3 / static_cast<double>(batches));
    std::printf("  millrace process CPU %.2f s (%.1f us per job); whole machine busy %.2f of %u "
                "cores\n",
                cpu, cpu / static_cast<double>(total) * 1e6, busy_cores(m0, m1),
                std::thread::hardware_concurrency());
    print_latency("commit latency under this load", all);
  }
  self->send_exit(writer, caf::exit_reason::user_shutdown);

  // 4. Naive baseline, same database, same statement, one job per transaction.
  auto base = run_baseline(db.conninfo(), a.baseline_threads, a.seconds, run + 2);
  std::printf("\nnaive baseline (%d threads, autocommit, one job per transaction): %.0f jobs/s\n",
              a.baseline_threads, base);
  std::printf("ratio: storage actor / baseline = %.1fx\n", ours / base);
  std::printf("RESULT {\"bench\":\"storage\",\"workload\":\"%s\",\"jobs_per_s\":%.0f,"
              "\"baseline_per_s\":%.0f,\"ratio\":%.2f}\n",
              current == workload::row ? "job_row" : "submission", ours, base, ours / base);
}

int main(int argc, char** argv) {
  auto a = parse(argc, argv);
  auto server = bench::server_from_env(argc, argv);
  std::printf("millrace storage benchmark (%u cores)\n", std::thread::hardware_concurrency());
  std::printf("job row: one job definition row per job; submission: definition + live queue row "
              "+ 'queued' event (statement enqueue_job)\n");
  millrace_config cfg{0};
  caf::actor_system sys{cfg};
  if (a.workload != "submission") {
    current = workload::row;
    run_workload(sys, a, server);
  }
  if (a.workload != "row") {
    current = workload::submission;
    run_workload(sys, a, server);
  }
  return 0;
}
