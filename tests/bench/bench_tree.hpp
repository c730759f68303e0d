// The job path for benchmarks: storage, dispatcher and (optionally, later)
// worker slots in one actor system, on a given database. Header-only, used by
// millrace-bench-jobs.

#pragma once

#include <memory>
#include <string>
#include <thread>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/actor_config.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/root.hpp"
#include "actors/worker/worker_node.hpp"
#include "sandbox/launcher.hpp"
#include "tests/bench/bench_util.hpp"

namespace millrace::bench {

class bench_tree {
public:
  explicit bench_tree(const std::string& conninfo) {
    actors::root_config rc;
    rc.storage.writer.writer.connect = {conninfo, std::chrono::seconds{5}, "bench"};
    rc.storage.writer.queue_max = 1000000;
    rc.storage.reader.reader.connect = {conninfo, std::chrono::seconds{5}, "bench"};
    rc.dispatcher.max_unfinished_per_workspace = 10000000;
    // PREFETCH overrides dispatcher.prefetch (jobs sent ahead to a slot).
    if (auto* p = std::getenv("PREFETCH"))
      rc.dispatcher.prefetch = static_cast<size_t>(std::strtoul(p, nullptr, 10));
    root_ = actors::spawn_root(sys_, reg_, rc);
    wait_until([&](const actors::dispatcher_stats& s) { return !s.recovering; });
  }

  ~bench_tree() {
    caf::scoped_actor self{sys_, true};
    if (workers_) {
      self->monitor(workers_);
      self->send_exit(workers_, caf::exit_reason::user_shutdown);
      self->receive([](caf::down_msg&) {});
    }
    self->monitor(root_);
    self->send_exit(root_, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {});
  }

  /// Starts a worker node of `cfg.slots` slots (returns at once).
  void start_workers(actors::worker_config cfg) {
    auto spec = actors::worker_node_spec(std::move(cfg));
    workers_ = spec.start(actors::child_context{sys_, actors::paths::worker, reg_});
  }

  actors::dispatcher_actor dispatcher() {
    return reg_->resolve_as<actors::dispatcher_actor>(actors::paths::dispatcher);
  }

  actors::dispatcher_stats stats() {
    caf::scoped_actor self{sys_, true};
    actors::dispatcher_stats out;
    self->request(dispatcher(), std::chrono::seconds{30}, actors::stats_atom_v)
      .receive([&](actors::dispatcher_stats& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  template <class Pred>
  void wait_until(Pred pred, std::chrono::milliseconds poll = std::chrono::milliseconds{2}) {
    for (;;) {
      if (dispatcher() && pred(stats()))
        return;
      std::this_thread::sleep_for(poll);
    }
  }

  /// The storage writer's counters (batches, time waiting for the server).
  storage::writer_stats writer_stats() {
    caf::scoped_actor self{sys_, true};
    storage::writer_stats out;
    auto w = reg_->resolve_as<actors::storage_writer_actor>(actors::paths::storage_writer);
    self->request(w, std::chrono::seconds{30}, actors::stats_atom_v)
      .receive([&](storage::writer_stats& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  caf::actor_system& system() { return sys_; }
  std::shared_ptr<actors::registry> registry() { return reg_; }

private:
  actors::millrace_config cfg_{threads_from_env(), *actors::parse_scheduler_policy(scheduler_from_env())};
  caf::actor_system sys_{cfg_};
  std::shared_ptr<actors::registry> reg_ = std::make_shared<actors::registry>();
  caf::actor root_;
  caf::actor workers_;
};

} // namespace millrace::bench
