// Per-tag limits (dispatcher_config::tag_limits): how many attempts of a tag
// may run at once across the cluster. Only limited tags are counted; an
// attempt counts from its start until it is runnable again, settling or gone.

#include <algorithm>

#include "actors/dispatcher/dispatcher_state.hpp"

namespace millrace::actors {

bool tag_has_room(dispatcher_ptr self, const std::string& lane) {
  auto& st = self->state;
  if (st.cfg.tag_limits.empty())
    return true;
  auto tag = tag_of_lane(lane); // a pinned lane counts as its tag
  auto limit = st.cfg.tag_limits.find(tag);
  if (limit == st.cfg.tag_limits.end())
    return true;
  auto running = st.running_by_tag.find(tag);
  return running == st.running_by_tag.end() || running->second < limit->second;
}

std::vector<std::string> tags_with_room(dispatcher_ptr self, const std::vector<std::string>& tags) {
  if (self->state.cfg.tag_limits.empty())
    return tags;
  std::vector<std::string> out;
  for (auto& t : tags)
    if (tag_has_room(self, t))
      out.push_back(t);
  return out;
}

void count_running(dispatcher_ptr self, job_entry& e) {
  auto& st = self->state;
  if (e.counted || st.cfg.tag_limits.count(e.spec.tag) == 0)
    return;
  e.counted = true;
  ++st.running_by_tag[e.spec.tag];
}

void uncount_running(dispatcher_ptr self, job_entry& e) {
  if (!e.counted)
    return;
  e.counted = false;
  auto& n = self->state.running_by_tag[e.spec.tag];
  if (n > 0)
    --n;
  // Room again: idle slots may take this tag's next job. Not from here
  // (callers may be inside dispatch): at the end of the burst, with the
  // flush of its writes (dispatcher.cpp).
  auto& st = self->state;
  st.limit_freed = true;
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom_v);
  }
}

} // namespace millrace::actors
