// A worker slot (/millrace/worker/slot-N): runs one job attempt at a time in
// the sandbox, streams its log to storage, renews its lease from its own
// event loop, enforces its timeout with the kill ladder, and reports exactly
// one `done` per attempt to the dispatcher. Interface:
// actors/protocol/job_actors.hpp (worker_slot_actor).

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/timespan.hpp"

#include "sandbox/launcher.hpp"

namespace millrace::actors {

class registry;

struct slot_config {
  /// Unique name, part of lease owners: "<node>/slot-<n>".
  std::string name;
  /// Tags this slot serves.
  std::vector<std::string> tags;
  sandbox::limits limits;
  /// Between SIGTERM and SIGKILL when a job times out or is canceled.
  std::chrono::milliseconds kill_grace{5000};
  /// How often a running attempt's lease is renewed (a third of the lease).
  caf::timespan renew_every = std::chrono::seconds{10};
  /// Log bytes stored per job; the rest is dropped and a marker says how much.
  size_t log_max_bytes = 10 << 20;
  /// Largest result a job may return.
  size_t result_max_bytes = 10 << 20;
  /// Log chunks are written at least this often while a job prints.
  std::chrono::milliseconds log_flush_every{100};
  /// Shared by all slots of a node.
  std::shared_ptr<sandbox::launcher> launcher;
  /// Absolute host folder holding the node's `same_worker` shared folders
  /// (actors/worker/shared_folder.hpp). Empty: the node runs no step of a
  /// same_worker flow (such a step fails, saying so).
  std::string shared_root;
  /// Cluster worker node: the dispatcher is a remote actor that the node's
  /// cluster link puts in the registry when it joins a server, and the link
  /// tells each slot to register then. A slot registers on its own only if
  /// the dispatcher is already there (it was restarted while joined).
  /// Otherwise (false) a slot that finds no dispatcher retries every 100 ms.
  bool registered_by_link = false;
  /// Benchmarks only: called on the slot's thread when an attempt starts
  /// (`starting` true, before its process is spawned) and right before its
  /// `done` is sent. Null in production.
  std::function<void(const std::string& slot, const std::string& job_id,
                     const std::string& args, bool starting)>
    probe;
};

caf::actor spawn_slot(caf::actor_system& sys, slot_config cfg, std::shared_ptr<registry> reg,
                      const std::string& path);

} // namespace millrace::actors
