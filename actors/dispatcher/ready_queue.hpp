// The runnable jobs the dispatcher holds in memory, and the policy that picks
// the next one for an idle slot. No CAF: plain data, unit-tested alone.
//
// Policy (README.md, "Fairness"):
// 1. Priority is strict: a higher-priority job runs before any lower one the
//    slot could serve.
// 2. At equal priority, (tag, workspace) pairs take turns (round-robin), so a
//    workspace that floods a tag cannot starve another workspace on that tag,
//    and a slot serving several tags serves them in turn.
// 3. Within one (tag, workspace): earlier scheduled time first, then earlier
//    arrival.

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace millrace::actors {

struct ready_key {
  int32_t priority = 0;
  int64_t scheduled_ms = 0;
  uint64_t seq = 0;
  std::string job_id;

  /// Order of service within one (tag, workspace).
  friend bool operator<(const ready_key& a, const ready_key& b) {
    if (a.priority != b.priority)
      return a.priority > b.priority;
    if (a.scheduled_ms != b.scheduled_ms)
      return a.scheduled_ms < b.scheduled_ms;
    if (a.seq != b.seq)
      return a.seq < b.seq;
    return a.job_id < b.job_id;
  }
};

struct ready_pick {
  std::string tag;
  std::string workspace;
  ready_key key;
};

class ready_queue {
public:
  void push(const std::string& tag, const std::string& workspace, ready_key key);

  /// Removes one job (cancel). False if it was not there.
  bool erase(const std::string& tag, const std::string& workspace, const ready_key& key);

  /// Removes and returns the next job for a slot serving `tags`, by the
  /// policy above; nothing when none of its tags has a job.
  std::optional<ready_pick> pop_for(const std::vector<std::string>& tags);

  /// True when `tag` has a runnable job.
  bool has(const std::string& tag) const;

  size_t size() const { return size_; }
  std::map<std::string, uint64_t> size_by_tag() const;

private:
  struct lane_id {
    std::string tag;
    std::string workspace;
    friend bool operator<(const lane_id& a, const lane_id& b) {
      return a.tag != b.tag ? a.tag < b.tag : a.workspace < b.workspace;
    }
  };
  // tag -> workspace -> jobs in service order
  std::map<std::string, std::map<std::string, std::set<ready_key>>> lanes_;
  // The lane served last; the next turn starts after it (round-robin).
  std::optional<lane_id> last_;
  size_t size_ = 0;
};

} // namespace millrace::actors
