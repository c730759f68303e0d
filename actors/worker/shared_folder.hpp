// The shared folders of `same_worker` flows on a worker node: one host
// folder per flow job under the node's root (sandbox.shared_dir), bound into
// each of the flow's step jobs as /job/shared. Made by the launcher on the
// first step; removed when the flow ends (the dispatcher tells a slot of the
// node with `unpin`), or when the node joins after the flow ended while it
// was away (`sweep`).

#pragma once

#include <set>
#include <string>

#include "caf/fwd.hpp"

namespace millrace::actors {

/// `root`/`flow_job_id`, or empty when the id is not a UUID (so no path
/// outside `root` can ever be named) or `root` is empty.
std::string shared_folder_path(const std::string& root, const std::string& flow_job_id);

/// The flow job ids that have a folder under `root` (entries named by a
/// UUID that are directories, not followed through symlinks).
std::set<std::string> list_shared_folders(const std::string& root);

/// Removes `path` and all it holds, on a detached actor of its own (a large
/// tree takes a while; a slot never waits for the disk). Errors are logged.
void remove_shared_folder(caf::actor_system& sys, std::string path);

} // namespace millrace::actors
