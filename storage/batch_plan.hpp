// Turns a batch of writes into as few statement executions as ordering allows.
//
// Rules (see write_request::key):
// - writes with the same key run in submission order;
// - a write with an empty key is a barrier;
// - otherwise writes may be regrouped: all writes of one bulk statement in the
//   same "round" share one execution.
// A write's round is one more than the round of the previous write with the
// same key, so every key appears at most once per round, and rounds run in
// order. Single-mode statements get one execution per write.

#pragma once

#include <string>
#include <vector>

#include "storage/statements.hpp"

namespace millrace::storage {

struct plan_input {
  const statement_def* stmt;
  const std::string* key;
};

struct planned_exec {
  const statement_def* stmt = nullptr;
  /// Indices into the planned batch, in submission order.
  std::vector<size_t> writes;
};

std::vector<planned_exec> plan_batch(const std::vector<plan_input>& batch);

} // namespace millrace::storage
