// The shared folders of `same_worker` flows on a worker node: one host
// folder per flow job under the node's root (sandbox.shared_dir), bound into
// each of the flow's step jobs as /job/shared. Made by the launcher on the
// first step; removed when the flow ends (the dispatcher tells a slot of the
// node with `unpin`), or when the node joins after the flow ended while it
// was away (`sweep`).

#pragma once

#include <set>
#include <string>

#include "actors/protocol/job_actors.hpp"

namespace millrace::actors {

/// `root`/`flow_job_id`, or empty when the id is not a UUID in canonical
/// (lowercase) form (so no path outside `root` can ever be named) or `root`
/// is empty.
std::string shared_folder_path(const std::string& root, const std::string& flow_job_id);

/// The flow job ids that have a folder under `root` (entries named by a
/// UUID that are directories, not followed through symlinks).
std::set<std::string> list_shared_folders(const std::string& root);

/// A slot's keeper of the folders under one root: removes one (`unpin`,
/// with all it holds) or lists them (`sweep`), one request at a time. Spawned
/// detached, so the slot never waits for the disk and a sweep of many
/// folders uses one thread, not one per folder. Errors are logged.
using shared_folders_actor =
  caf::typed_actor<caf::reacts_to<unpin_atom, std::string>,
                   caf::replies_to<sweep_atom>::with<std::set<std::string>>>;

shared_folders_actor::behavior_type shared_folders(shared_folders_actor::pointer self,
                                                   std::string root);

} // namespace millrace::actors
