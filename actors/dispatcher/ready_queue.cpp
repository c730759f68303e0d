#include "actors/dispatcher/ready_queue.hpp"

namespace millrace::actors {

void ready_queue::push(const std::string& tag, const std::string& workspace, ready_key key) {
  if (lanes_[tag][workspace].insert(std::move(key)).second)
    ++size_;
}

bool ready_queue::erase(const std::string& tag, const std::string& workspace,
                        const ready_key& key) {
  auto t = lanes_.find(tag);
  if (t == lanes_.end())
    return false;
  auto w = t->second.find(workspace);
  if (w == t->second.end() || w->second.erase(key) == 0)
    return false;
  --size_;
  if (w->second.empty())
    t->second.erase(w);
  if (t->second.empty())
    lanes_.erase(t);
  return true;
}

bool ready_queue::has(const std::string& tag) const {
  return lanes_.count(tag) > 0;
}

std::optional<ready_pick> ready_queue::pop_for(const std::vector<std::string>& tags) {
  // Candidates: the head of every lane the slot can serve. The best priority
  // wins; among lanes at that priority, the first one after the lane served
  // last (in lane order, wrapping around).
  const lane_id* chosen = nullptr;
  lane_id chosen_id;
  std::optional<int32_t> best;
  bool chosen_after_last = false;
  for (auto& tag : tags) {
    auto t = lanes_.find(tag);
    if (t == lanes_.end())
      continue;
    for (auto& [ws, jobs] : t->second) {
      auto prio = jobs.begin()->priority;
      lane_id id{tag, ws};
      bool after_last = !last_ || *last_ < id;
      bool better;
      if (!best || prio > *best)
        better = true;
      else if (prio < *best)
        better = false;
      else if (after_last != chosen_after_last)
        better = after_last; // lanes after the last served come first
      else
        better = id < chosen_id; // then lane order
      if (better) {
        best = prio;
        chosen_id = id;
        chosen = &chosen_id;
        chosen_after_last = after_last;
      }
    }
  }
  if (!chosen)
    return std::nullopt;
  auto& jobs = lanes_[chosen_id.tag][chosen_id.workspace];
  ready_pick pick{chosen_id.tag, chosen_id.workspace, *jobs.begin()};
  erase(chosen_id.tag, chosen_id.workspace, pick.key);
  last_ = chosen_id;
  return pick;
}

std::map<std::string, uint64_t> ready_queue::size_by_tag() const {
  std::map<std::string, uint64_t> out;
  for (auto& [tag, wss] : lanes_)
    for (auto& [ws, jobs] : wss)
      out[tag] += jobs.size();
  return out;
}

} // namespace millrace::actors
