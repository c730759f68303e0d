// Standby sandboxes, made ahead so that a job skips the exec helper and
// bwrap's set-up (namespaces, mounts, cgroups): most of a short job's cost.
//
// The pool keeps up to `per_shape` standbys for each of the `max_shapes`
// shapes used last (standby_wire.hpp says what a shape is). start() takes
// one of the job's shape; if none is ready but one is being made, it waits
// for that one (the work is already under way, so starting another would
// only cost more); otherwise the job starts cold. Every take and every cold
// start asks for a refill, which runs on the spawn thread: standby processes
// must have that thread as their parent (spawn.hpp says why).
//
// A standby made from an older /etc copy than the current one is retired
// instead of used. Retiring hands the standby to the reactor like a job
// without callbacks and closes the launcher's end of its socket: the stub
// reads end of file and exits, and the reactor reaps it and removes its
// cgroups like any job's.

#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/detail/sandbox_job.hpp"
#include "sandbox/detail/spawn.hpp"
#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

class standby_pool {
public:
  /// Makes one standby of the given shape (on the spawn thread). nullopt
  /// when it could not (the reason is not kept: the job starts cold).
  using maker = std::function<std::optional<job_setup>(const launch_plan& shape, const limits& lim)>;
  /// Ends a standby that will not be used.
  using retirer = std::function<void(job_setup)>;

  standby_pool(size_t per_shape, size_t max_shapes, spawn_thread& spawner, maker make, retirer retire);
  ~standby_pool();

  standby_pool(const standby_pool&) = delete;
  standby_pool& operator=(const standby_pool&) = delete;

  /// A standby of shape `key` made with `etc`, waiting for one in the
  /// making if none is ready. nullopt: start cold.
  std::optional<job_setup> take(const std::string& key, const std::shared_ptr<const etc_snapshot>& etc);

  /// Asks the spawn thread for standbys of this shape until `per_shape` are
  /// ready or being made. Makes the shape the most recently used one.
  void refill(const std::string& key, const launch_plan& shape, const limits& lim);

  /// Retires every standby and refuses new ones, then waits until no
  /// standby is still being made (one in the making is retired when it is
  /// done, so the reactor, still running, reaps all of its processes).
  /// Idempotent. Must be called before the reactor and the spawn thread
  /// stop, and not from the spawn thread: queued refills then make nothing.
  void close();

  /// Standbys ready now.
  size_t ready() const;

private:
  struct shape_state {
    std::vector<job_setup> ready;
    size_t making = 0;
  };

  void made(const std::string& key, std::optional<job_setup> sb);
  bool is_closed() const;
  /// Drops the least recently used shapes beyond max_shapes (lock held);
  /// their standbys go to `out`.
  void trim(std::vector<job_setup>& out);

  const size_t per_shape_;
  const size_t max_shapes_;
  spawn_thread& spawner_;
  maker make_;
  retirer retire_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, shape_state> shapes_; // guarded by mutex_
  std::list<std::string> recent_;             // most recent first; guarded
  bool closed_ = false;                       // guarded by mutex_
  /// Makes posted to the spawn thread and not yet through made(), retiring
  /// included; close() waits for 0. Guarded by mutex_.
  size_t in_flight_ = 0;
};

} // namespace millrace::sandbox::detail
