// The whole job path for integration tests: a scratch database, the storage
// subtree, the dispatcher and N worker slots on the real bubblewrap sandbox,
// in one actor system. Jobs are submitted and awaited like `millrace run`
// does; the database is inspected directly.

#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/protocol/job_actors.hpp"
#include "actors/system/actor_config.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/root.hpp"
#include "tests/support/test_database.hpp"

#include "caf/all.hpp"

namespace millrace::test {

struct job_tree_options {
  size_t slots = 2;
  std::vector<std::string> tags = {"bash", "python3", "noop"};
  std::chrono::milliseconds kill_grace{1000};
  size_t log_max_bytes = 10 << 20;
  sandbox::limits limits;
  std::vector<std::string> network_tags;
  /// The launcher's standby sandboxes per shape (launcher_config::standby).
  size_t standby = 2;
  caf::timespan lease = std::chrono::seconds{30};
  /// The database to use; a fresh one when null. Share one to restart the
  /// tree on the same data.
  std::shared_ptr<scratch_database> db;
  /// Children started after the worker node (the api, the flow engine).
  std::vector<actors::child_spec> extra;
  /// Slots that those children register (the flow engine's).
  size_t extra_slots = 0;
  /// The worker node's root of same_worker shared folders (slot_config::
  /// shared_root); empty: one of the tree's own under /tmp, removed with it.
  std::string shared_root;
};

class job_tree {
public:
  explicit job_tree(job_tree_options opts = {});
  ~job_tree();

  /// Submits and returns the job id; an error fails the calling test.
  std::string submit(actors::job_spec spec);
  /// Submits and returns the error text (empty when it was accepted).
  std::string submit_error(actors::job_spec spec);
  /// Waits for the job's end.
  actors::job_result wait(const std::string& job_id,
                          std::chrono::seconds limit = std::chrono::seconds{120});
  actors::cancel_reply cancel(const std::string& job_id);

  /// A preview job.
  static actors::job_spec script(const std::string& language, const std::string& code,
                                 const std::string& args = "{}");

  /// The job's stored log (all chunks, in offset order).
  std::string logs(const std::string& job_id);
  /// The job's events as "attempt:kind" strings, in order.
  std::vector<std::string> events(const std::string& job_id);

  caf::actor_system& system() { return sys_; }
  std::shared_ptr<actors::registry> reg() { return reg_; }
  const std::string& conninfo() const { return db_->conninfo(); }
  actors::dispatcher_actor dispatcher();
  /// The sandbox launcher the worker slots share.
  sandbox::launcher& launcher() { return *launcher_; }
  /// Where the worker node keeps same_worker flows' shared folders.
  const std::string& shared_root() const { return shared_root_; }

private:
  std::shared_ptr<scratch_database> db_;
  std::string shared_root_;
  bool own_shared_root_ = false;
  actors::millrace_config cfg_{2};
  caf::actor_system sys_{cfg_};
  std::shared_ptr<actors::registry> reg_ = std::make_shared<actors::registry>();
  std::shared_ptr<sandbox::launcher> launcher_;
  caf::actor root_;
};

} // namespace millrace::test
