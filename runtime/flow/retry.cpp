#include "runtime/flow/retry.hpp"

#include <algorithm>
#include <cmath>

namespace millrace::flow {

double retry_delay_s(const retry_policy& r, int n, double jitter) {
  double delay;
  if (n <= r.constant_attempts) {
    delay = r.constant_seconds;
  } else {
    delay = r.exponential_multiplier * std::pow(static_cast<double>(r.exponential_seconds), n);
    if (r.random_factor > 0)
      delay *= 1.0 + std::clamp(jitter, -1.0, 1.0) * r.random_factor / 100.0;
  }
  return std::min(std::max(delay, 0.0), 86400.0);
}

bool may_retry(const retry_policy& r, int retries_done) {
  return retries_done < r.constant_attempts + r.exponential_attempts;
}

} // namespace millrace::flow
