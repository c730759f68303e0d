// The dispatcher (/millrace/dispatcher): holds runnable jobs in memory, per
// tag, and pushes each to an idle worker slot the moment one is free. Slots
// register, say when they are idle and report completions; PostgreSQL is the
// durable log behind it and is never polled. Interface:
// actors/protocol/job_actors.hpp; README.md, "Life of a job".

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "caf/fwd.hpp"
#include "caf/timespan.hpp"

#include "actors/supervision/supervisor.hpp"

namespace millrace::actors {

class registry;

struct dispatcher_config {
  /// Most unfinished (queued, delayed or running) jobs per workspace; past
  /// it, submissions are refused with "overloaded, retry later".
  size_t max_unfinished_per_workspace = 100000;
  /// Lease of a running attempt. Slots renew it every third of it.
  caf::timespan lease = std::chrono::seconds{30};
  /// Lease of a flow job's attempt (kinds flow and flowpreview). Flow runs
  /// live in this process, so their lease only catches a flow slot that
  /// stopped renewing; a long one keeps flows that wait for approvals or
  /// long sleeps cheap (one row update per flow per flow_lease / 3).
  caf::timespan flow_lease = std::chrono::minutes{10};
  /// Attempts a job may lose to dead slots or expired leases before it is
  /// failed as a poison job.
  int32_t restart_limit = 3;
  /// Timeout of a job that names none (seconds).
  int32_t default_timeout_s = 900;
  /// Largest timeout a job may ask for (seconds).
  int32_t max_timeout_s = 86400;
  /// Largest args document (bytes).
  size_t max_args_bytes = 1 << 20;
  /// Jobs without a process (noop, identity) sent ahead to a slot that runs
  /// one, so the slot starts its next job without waiting for the
  /// dispatcher (0: one job per slot at a time).
  size_t prefetch = 1;
  /// Tags whose jobs may use the network; all others run without it.
  std::vector<std::string> network_tags;
  /// Most attempts of a tag running at once, cluster-wide (every node's
  /// slots together); tags not listed have no limit but their slots.
  std::map<std::string, size_t> tag_limits;
  /// Read the live queue at start and recover it (off in unit tests that
  /// have no reader).
  bool recover = true;
  /// Attempts found running at start-up on slots of other nodes (names not
  /// starting with "<local_node>/") are kept for their slots to re-adopt
  /// when their node rejoins, until their lease runs out; the rest get new
  /// attempts at once. Off: all get new attempts at once (standalone, where
  /// every slot died with the process).
  bool adopt_remote = false;
  /// This process's own worker node name (the prefix of its slots' names).
  std::string local_node = "local";
};

/// Spawns the dispatcher. Each incarnation draws a node id of its own for
/// its lease owners ("<node_id>/<slot>"), so a claim never matches one made
/// before a restart.
caf::actor spawn_dispatcher(caf::actor_system& sys, dispatcher_config cfg,
                            std::shared_ptr<registry> reg, const std::string& path);

/// Child spec (id "dispatcher", permanent).
child_spec dispatcher_spec(dispatcher_config cfg);

} // namespace millrace::actors
