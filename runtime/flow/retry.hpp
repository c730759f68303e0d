// How long a flow step waits before its n-th retry (Windmill's `retry`):
// constant attempts first, then exponential ones.

#pragma once

#include "runtime/flow/model.hpp"

namespace millrace::flow {

/// Seconds before retry `n` (1-based; n counts the constant attempts too):
/// `constant.seconds` for the first `constant.attempts`, then
/// `multiplier × seconds^n`, with `random_factor` percent of jitter scaled by
/// `jitter` in [-1, 1] (the caller draws it). Clamped to 0..86400.
double retry_delay_s(const retry_policy& r, int n, double jitter);

/// Whether a step that failed after `retries_done` retries may retry again
/// (retry_if aside).
bool may_retry(const retry_policy& r, int retries_done);

} // namespace millrace::flow
