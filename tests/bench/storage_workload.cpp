#include "tests/bench/storage_workload.hpp"

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "storage/pg/connection.hpp"
#include "storage/pg/text_array.hpp"
#include "tests/bench/bench_util.hpp"

namespace millrace::bench {

using clk = std::chrono::steady_clock;


const char* name_of(workload w) {
  return w == workload::row ? "job row" : "submission";
}

// The bench-only statement for the "job row" workload, next to the built-in
// ones: a plain multi-row insert of job definitions, with its careful twin.
// Like a plain INSERT, it returns nothing: the acknowledgement is the commit.
const char* row_sql = R"(
-- name: bench_insert_job
-- mode: bulk
-- match: key
-- careful: bench_insert_job_careful
INSERT INTO job (id, workspace_id, kind, args, tag, priority, created_by)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::smallint[],
                     $7::text[])

-- name: bench_insert_job_careful
-- mode: bulk
-- match: key
INSERT INTO job (id, workspace_id, kind, args, tag, priority, created_by)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::smallint[],
                     $7::text[])
ON CONFLICT DO NOTHING
)";

const storage::statement_registry& bench_statements() {
  static const storage::statement_registry reg = [] {
    auto files = storage::statement_files();
    files.push_back({"bench.sql", row_sql});
    return storage::statement_registry{files};
  }();
  return reg;
}

workload current = workload::row;

storage::write_request job_write(uint64_t n, uint32_t run) {
  auto id = bench::uuid_for(n, run);
  if (current == workload::row)
    return storage::write_request{"bench_insert_job",
                                  {id, "admins", "noop", R"({"n":1})", "bench", "0", "bench"},
                                  id};
  auto null = storage::sql_value::null_value();
  return storage::write_request{
    "enqueue_job",
    {id, "admins", "noop", null, null, null, null, R"({"n":1})", "bench", "0", null, null, null,
     null, "bench", null, null, null},
    id};
}

cpu_sample machine_cpu() {
  std::ifstream in{"/proc/stat"};
  std::string cpu;
  unsigned long long v[10] = {};
  in >> cpu;
  for (auto& x : v)
    in >> x;
  cpu_sample s;
  for (auto x : v)
    s.total += x;
  s.busy = s.total - v[3] - v[4]; // minus idle and iowait
  return s;
}
double busy_cores(cpu_sample a, cpu_sample b) {
  auto total = static_cast<double>(b.total - a.total);
  auto ncpu = static_cast<double>(std::thread::hardware_concurrency());
  return total > 0 ? static_cast<double>(b.busy - a.busy) / total * ncpu : 0;
}
double run_baseline(const std::string& conninfo, int threads, int seconds, uint32_t run) {
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  auto name = job_write(0, run).statement;
  auto* st = bench_statements().find(name);
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      storage::pg::connection c{storage::pg::connect_options{conninfo}};
      c.exec("SET jit = off");
      c.prepare(name, st->sql);
      uint64_t n = (static_cast<uint64_t>(t) + 1) << 40;
      while (!stop) {
        auto w = job_write(n++, run);
        // The bulk statement with one-element arrays: one job, one statement.
        std::vector<storage::sql_value> params;
        for (auto& v : w.params) {
          std::string arr = "{";
          std::vector<storage::sql_value> one{v};
          arr = storage::pg::encode_text_array({&one}, 0);
          params.emplace_back(std::move(arr));
        }
        c.query_prepared(name, params);
        ++done;
      }
    });
  auto t0 = clk::now();
  std::this_thread::sleep_for(std::chrono::seconds{seconds});
  stop = true;
  for (auto& t : ts)
    t.join();
  auto secs = std::chrono::duration<double>(clk::now() - t0).count();
  return static_cast<double>(done.load()) / secs;
}

} // namespace millrace::bench
