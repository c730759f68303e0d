#include "actors/worker/shared_folder.hpp"

#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"

namespace millrace::actors {

namespace {

bool uuid_text(const std::string& s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return true;
}

} // namespace

std::string shared_folder_path(const std::string& root, const std::string& flow_job_id) {
  if (root.empty() || !uuid_text(flow_job_id))
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
    if (uuid_text(name) && it->symlink_status(sec).type() == std::filesystem::file_type::directory)
      out.insert(std::move(name));
  }
  return out;
}

void remove_shared_folder(caf::actor_system& sys, std::string path) {
  // The path goes as a spawn argument: CAF 0.17 spawning a function that
  // takes nothing but `self` dereferences a null argument tuple (UBSan).
  sys.spawn<caf::detached>([](caf::event_based_actor* self, const std::string& dir) {
    std::error_code ec;
    auto n = std::filesystem::remove_all(dir, ec);
    auto log = logger_for(paths::worker);
    if (ec)
      log->warn("shared folder {}: not removed: {}", dir, ec.message());
    else if (n > 0)
      log->debug("shared folder {} removed ({} entries)", dir, n);
    self->quit();
  }, std::move(path));
}

} // namespace millrace::actors
