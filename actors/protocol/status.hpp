// What a live actor says about itself when asked (`status_atom`): a one-line
// summary and its mailbox size. The admin REPL and `millrace ps` show these.
// Plain C++; inspect() lets CAF carry it.

#pragma once

#include <cstdint>
#include <string>

namespace millrace::actors {

struct actor_status {
  /// One line, e.g. "batches=1200 pending=3 connected".
  std::string summary;
  /// Messages waiting in the actor's mailbox when it answered.
  uint64_t mailbox = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_status& x) {
  return f(x.summary, x.mailbox);
}

} // namespace millrace::actors
