#include "actors/worker/shared_folder.hpp"

#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/paths.hpp"
#include "actors/protocol/types/uuid.hpp"
#include "actors/system/logging.hpp"

namespace millrace::actors {

namespace {

bool canonical_uuid(const std::string& s) {
  std::string canonical;
  return normalize_uuid(s, canonical) && canonical == s;
}

} // namespace

std::string shared_folder_path(const std::string& root, const std::string& flow_job_id) {
  if (root.empty() || !canonical_uuid(flow_job_id))
    return {};
  return root + "/" + flow_job_id;
}

std::set<std::string> list_shared_folders(const std::string& root) {
  std::set<std::string> out;
  if (root.empty())
    return out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it{root, ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    std::error_code sec;
    if (canonical_uuid(name) && it->symlink_status(sec).type() == std::filesystem::file_type::directory)
      out.insert(std::move(name));
  }
  return out;
}

shared_folders_actor::behavior_type shared_folders(shared_folders_actor::pointer, std::string root) {
  auto log = logger_for(paths::worker);
  return {
    [root, log](unpin_atom, const std::string& flow_job) {
      auto dir = shared_folder_path(root, flow_job);
      if (dir.empty())
        return;
      std::error_code ec;
      auto n = std::filesystem::remove_all(dir, ec);
      if (ec)
        log->warn("shared folder {}: not removed: {}", dir, ec.message());
      else if (n > 0)
        log->debug("shared folder {} removed ({} entries)", dir, n);
    },
    [root](sweep_atom) { return list_shared_folders(root); },
  };
}

} // namespace millrace::actors
