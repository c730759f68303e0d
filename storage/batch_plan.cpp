#include "storage/batch_plan.hpp"

#include <unordered_map>

namespace millrace::storage {

namespace {

// Plans writes [first, last), none of which is a barrier.
void plan_segment(const std::vector<plan_input>& batch, size_t first, size_t last,
                  std::vector<planned_exec>& out) {
  std::unordered_map<std::string, size_t> next_round; // key -> first round it may use
  std::vector<size_t> round_of(last - first);
  size_t rounds = 0;
  for (size_t i = first; i < last; ++i) {
    auto& r = next_round[*batch[i].key];
    round_of[i - first] = r;
    rounds = std::max(rounds, r + 1);
    ++r;
  }
  for (size_t r = 0; r < rounds; ++r) {
    // Statement -> execution within this round, in order of first appearance.
    std::vector<std::pair<const statement_def*, size_t>> open;
    for (size_t i = first; i < last; ++i) {
      if (round_of[i - first] != r)
        continue;
      auto* st = batch[i].stmt;
      if (st->mode == statement_mode::single) {
        out.push_back(planned_exec{st, {i}});
        continue;
      }
      size_t slot = SIZE_MAX;
      for (auto& [s, idx] : open)
        if (s == st)
          slot = idx;
      if (slot == SIZE_MAX) {
        slot = out.size();
        open.emplace_back(st, slot);
        out.push_back(planned_exec{st, {}});
      }
      out[slot].writes.push_back(i);
    }
  }
}

} // namespace

std::vector<planned_exec> plan_batch(const std::vector<plan_input>& batch) {
  std::vector<planned_exec> out;
  size_t seg = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].key->empty())
      continue;
    plan_segment(batch, seg, i, out);
    out.push_back(planned_exec{batch[i].stmt, {i}});
    seg = i + 1;
  }
  plan_segment(batch, seg, batch.size(), out);
  return out;
}

} // namespace millrace::storage
