// millrace-bench-cluster: the dispatcher with remote worker nodes. This
// process is the server (storage, dispatcher and the cluster gateway, in
// process); worker nodes are `millrace worker` processes on loopback that join
// it. Prints one JSON line per figure:
//
// - for each size in SIZES ("procs:slots" pairs, default 1:150,4:150,16:37,
//   i.e. 150, 600 and 592 slots):
//   - throughput: N noop jobs bulk-submitted (500 per call), until every
//     completion is durable; jobs/s.
//   - latency: TRICKLE_N noop jobs one after another to idle slots: submit
//     (acknowledged after its commit) to durable completion, p50/p99; and the
//     dispatcher's own dispatch latency (runnable to handed to a slot, from
//     its histogram: the bucket bound at p50/p99).
// - detection to reassignment (REPEAT times each): two single-slot worker
//   processes, a bash job whose first attempt hangs; the node running it is
//   killed with SIGKILL, or stopped with SIGSTOP; time from the signal to the
//   dispatcher handing attempt 2 to the other node.
//
// Run with `make bench-cluster` (a throwaway PostgreSQL, Release build).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <spawn.h>
#include <string>
#include <thread>
#include <vector>

#include "caf/all.hpp"

#include "actors/cluster/gateway.hpp"
#include "actors/cluster/node_config.hpp"
#include "actors/protocol/cluster_actors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/actor_config.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/root.hpp"
#include "tests/bench/bench_util.hpp"

extern char** environ;

using namespace millrace;
using namespace millrace::bench;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

const std::string secret = "bench-cluster-secret-0123456789abcdef";

long env_long(const char* name, long fallback) {
  auto* v = std::getenv(name);
  return v ? std::strtol(v, nullptr, 10) : fallback;
}

std::string millrace_binary() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  std::string self{buf, n > 0 ? static_cast<size_t>(n) : 0};
  return self.substr(0, self.rfind('/') + 1) + "millrace";
}

/// A `millrace worker` process.
class worker_process {
public:
  worker_process(const std::string& node, uint16_t port, int slots, const std::string& tags) {
    std::vector<std::string> args = {millrace_binary(), "worker", "--server",
                                     "127.0.0.1:" + std::to_string(port), "--tags", tags,
                                     "--slots", std::to_string(slots), "--node", node,
                                     "--actors.threads=1", "--actors.scheduler=" + scheduler_from_env(),
                                     "--log.level=warn"};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = {"MILLRACE_CLUSTER_SECRET=" + secret};
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("MILLRACE_CLUSTER_SECRET=", 0) != 0)
        env_s.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_s)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0)
      pid_ = -1;
  }
  ~worker_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int sig) { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
};

/// Storage, dispatcher and gateway in this process.
class server_tree {
public:
  explicit server_tree(const std::string& conninfo) : sys_(cfg_) {
    actors::root_config rc;
    rc.storage.writer.writer.connect = {conninfo, 5s, "bench"};
    rc.storage.writer.queue_max = 1000000;
    rc.storage.reader.reader.connect = {conninfo, 5s, "bench"};
    rc.dispatcher.max_unfinished_per_workspace = 10000000;
    rc.dispatcher.lease = 30s;
    actors::gateway_config gc;
    gc.secret = secret;
    gc.port = 0;
    gc.server_name = "bench";
    rc.extra.push_back(actors::gateway_spec(gc));
    root_ = actors::spawn_root(sys_, reg_, std::move(rc));
  }
  ~server_tree() {
    caf::scoped_actor self{sys_, true};
    self->monitor(root_);
    self->send_exit(root_, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {});
  }

  uint16_t port() {
    for (;;) {
      if (auto gw = reg_->resolve_as<actors::gateway_actor>("/millrace/cluster")) {
        caf::scoped_actor self{sys_, true};
        std::string summary;
        self->request(gw, 5s, actors::status_atom_v)
          .receive([&](actors::actor_status& s) { summary = s.summary; }, [](caf::error&) {});
        if (summary.rfind("port ", 0) == 0 && summary.rfind("port 0,", 0) != 0)
          return static_cast<uint16_t>(std::stoi(summary.substr(5)));
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  actors::dispatcher_actor dispatcher() {
    return reg_->resolve_as<actors::dispatcher_actor>(actors::paths::dispatcher);
  }

  actors::dispatcher_stats stats() {
    caf::scoped_actor self{sys_, true};
    actors::dispatcher_stats out;
    self->request(dispatcher(), 30s, actors::stats_atom_v)
      .receive([&](actors::dispatcher_stats& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  template <class Pred>
  bool wait_until(Pred pred, std::chrono::milliseconds limit, std::chrono::microseconds poll = 1ms) {
    auto end = clock_type::now() + limit;
    while (clock_type::now() < end) {
      if (dispatcher() && pred(stats()))
        return true;
      std::this_thread::sleep_for(poll);
    }
    return false;
  }

  caf::actor_system& system() { return sys_; }

private:
  struct cluster_config : actors::millrace_config {
    cluster_config() : millrace_config(0, *actors::parse_scheduler_policy(scheduler_from_env())) {
      actors::enable_cluster(*this, 250ms, 1000ms);
    }
  };

  cluster_config cfg_;
  caf::actor_system sys_;
  std::shared_ptr<actors::registry> reg_ = std::make_shared<actors::registry>();
  caf::actor root_;
};

actors::job_spec noop_job() {
  actors::job_spec s;
  s.kind = actors::job_kind::noop;
  s.language = "noop";
  s.tag = "noop";
  s.created_by = "bench-cluster";
  return s;
}

std::string fmt(double v, int digits = 2) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

/// Bucket bound (ms) at percentile p of a dispatch histogram delta. The
/// buckets are cumulative (each counts every attempt at or under its bound;
/// the last, +Inf, counts all).
double bucket_ms(const std::vector<uint64_t>& cumulative, double p) {
  if (cumulative.empty() || cumulative.back() == 0)
    return 0;
  auto want = std::max<uint64_t>(
    1, static_cast<uint64_t>(p / 100.0 * static_cast<double>(cumulative.back()) + 0.5));
  auto& bounds = actors::dispatch_bounds_micros();
  for (size_t i = 0; i < cumulative.size(); ++i)
    if (cumulative[i] >= want)
      return i + 1 == cumulative.size() ? -1 : static_cast<double>(bounds[i]) / 1000.0;
  return -1;
}

void size_run(const std::string& server, int procs, int slots, long n, long trickle) {
  bench_database db{server};
  server_tree t{db.conninfo()};
  t.wait_until([](const actors::dispatcher_stats& s) { return !s.recovering; }, 60s);
  auto port = t.port();
  std::vector<std::unique_ptr<worker_process>> workers;
  for (int p = 0; p < procs; ++p)
    workers.push_back(std::make_unique<worker_process>("w" + std::to_string(p), port, slots, "noop"));
  auto total = static_cast<uint64_t>(procs * slots);
  if (!t.wait_until([&](const actors::dispatcher_stats& s) { return s.slots >= total; }, 120s)) {
    std::printf("{\"bench\":\"cluster\",\"error\":\"only %llu of %llu slots joined\"}\n",
                static_cast<unsigned long long>(t.stats().slots),
                static_cast<unsigned long long>(total));
    return;
  }
  // Throughput.
  auto d = t.dispatcher();
  auto before = t.stats();
  auto start = clock_type::now();
  {
    caf::scoped_actor self{t.system(), true};
    for (long done = 0; done < n;) {
      std::vector<actors::job_spec> batch;
      for (long i = 0; i < 500 && done < n; ++i, ++done)
        batch.push_back(noop_job());
      self->request(d, 60s, actors::submit_atom_v, std::move(batch))
        .receive([](std::vector<actors::submit_reply>&) {}, [](caf::error&) {});
    }
  }
  t.wait_until([&](const actors::dispatcher_stats& s) {
    return s.completed >= before.completed + static_cast<uint64_t>(n);
  }, 600s, 200us);
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  auto mid = t.stats();
  std::vector<uint64_t> hist(mid.dispatch_buckets.size());
  for (size_t i = 0; i < hist.size(); ++i)
    hist[i] = mid.dispatch_buckets[i] - before.dispatch_buckets[i];
  std::printf("{\"bench\":\"cluster_throughput\",\"procs\":%d,\"slots\":%llu,\"jobs\":%ld,"
              "\"jobs_per_s\":%s,\"dispatch_p50_ms_le\":%s,\"dispatch_p99_ms_le\":%s}\n",
              procs, static_cast<unsigned long long>(total), n, fmt(n / secs, 0).c_str(),
              fmt(bucket_ms(hist, 50), 3).c_str(), fmt(bucket_ms(hist, 99), 3).c_str());
  std::fflush(stdout);
  // Latency, one job at a time.
  std::vector<double> lat;
  {
    caf::scoped_actor self{t.system(), true};
    for (long i = 0; i < trickle; ++i) {
      auto t0 = clock_type::now();
      std::string id;
      self->request(d, 60s, actors::submit_atom_v, noop_job())
        .receive([&](actors::submit_reply& r) { id = r.job_id; }, [](caf::error&) {});
      self->request(d, 60s, actors::wait_atom_v, id)
        .receive([](actors::job_result&) {}, [](caf::error&) {});
      lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    }
  }
  auto after = t.stats();
  for (size_t i = 0; i < hist.size(); ++i)
    hist[i] = after.dispatch_buckets[i] - mid.dispatch_buckets[i];
  std::printf("{\"bench\":\"cluster_latency\",\"procs\":%d,\"slots\":%llu,\"jobs\":%ld,"
              "\"submit_to_durable_done_p50_ms\":%s,\"p99_ms\":%s,"
              "\"dispatch_p50_ms_le\":%s,\"dispatch_p99_ms_le\":%s}\n",
              procs, static_cast<unsigned long long>(total), trickle,
              fmt(percentile(lat, 50), 3).c_str(), fmt(percentile(lat, 99), 3).c_str(),
              fmt(bucket_ms(hist, 50), 3).c_str(), fmt(bucket_ms(hist, 99), 3).c_str());
  std::fflush(stdout);
}

void detection_run(const std::string& server, int sig, long repeat) {
  std::vector<double> ms;
  for (long r = 0; r < repeat; ++r) {
    bench_database db{server};
    server_tree t{db.conninfo()};
    t.wait_until([](const actors::dispatcher_stats& s) { return !s.recovering; }, 60s);
    auto port = t.port();
    std::vector<std::unique_ptr<worker_process>> w;
    w.push_back(std::make_unique<worker_process>("a", port, 1, "bash"));
    w.push_back(std::make_unique<worker_process>("b", port, 1, "bash"));
    t.wait_until([](const actors::dispatcher_stats& s) { return s.slots >= 2; }, 120s);
    actors::job_spec s;
    s.kind = actors::job_kind::preview;
    s.language = "bash";
    s.code = "if [ \"$MILLRACE_ATTEMPT\" = 1 ]; then sleep 60; fi; echo ok";
    s.created_by = "bench-cluster";
    std::string id;
    {
      caf::scoped_actor self{t.system(), true};
      self->request(t.dispatcher(), 60s, actors::submit_atom_v, s)
        .receive([&](actors::submit_reply& rep) { id = rep.job_id; }, [](caf::error&) {});
    }
    t.wait_until([](const actors::dispatcher_stats& st) { return st.started >= 1; }, 60s);
    // Which node has it: the one whose slot is busy (the lease owner names it).
    storage::pg::connection c{storage::pg::connect_options{db.conninfo()}};
    std::string owner;
    for (int i = 0; i < 2000 && owner.empty(); ++i) {
      auto rs = c.query("SELECT lease_owner FROM job_queue WHERE job_id = $1 AND state = 'running'",
                        {storage::sql_value{id}});
      if (!rs.empty() && !rs.rows[0][0].null)
        owner = rs.rows[0][0].text;
      else
        std::this_thread::sleep_for(5ms);
    }
    auto& victim = owner.find("/a/") != std::string::npos ? w[0] : w[1];
    auto started = t.stats().started;
    auto t0 = clock_type::now();
    victim->signal(sig);
    bool ok = t.wait_until([&](const actors::dispatcher_stats& st) { return st.started > started; },
                           30s, 200us);
    if (ok)
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
  }
  std::string list;
  for (auto v : ms)
    list += (list.empty() ? "" : ",") + fmt(v, 0);
  std::printf("{\"bench\":\"cluster_detection\",\"signal\":\"%s\",\"runs\":%zu,"
              "\"detect_to_reassign_ms\":[%s],\"median_ms\":%s}\n",
              sig == SIGKILL ? "SIGKILL" : "SIGSTOP", ms.size(), list.c_str(),
              fmt(percentile(ms, 50), 0).c_str());
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  auto server = server_from_env(argc, argv);
  std::string sizes = std::getenv("SIZES") ? std::getenv("SIZES") : "1:150,4:150,16:37";
  long n = env_long("N", 30000);
  long trickle = env_long("TRICKLE_N", 300);
  long repeat = env_long("REPEAT", 3);
  size_t pos = 0;
  while (pos < sizes.size()) {
    auto end = sizes.find(',', pos);
    if (end == std::string::npos)
      end = sizes.size();
    auto item = sizes.substr(pos, end - pos);
    pos = end + 1;
    auto colon = item.find(':');
    if (colon == std::string::npos)
      continue;
    size_run(server, std::stoi(item.substr(0, colon)), std::stoi(item.substr(colon + 1)), n,
             trickle);
  }
  if (repeat > 0) {
    detection_run(server, SIGKILL, repeat);
    detection_run(server, SIGSTOP, repeat);
  }
  return 0;
}
