#include "actors/system/actor_config.hpp"

#include <thread>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/type_ids.hpp"

namespace millrace::actors {

millrace_config::millrace_config(size_t threads) {
  add_message_types<caf::id_block::millrace>();
  add_error_categories(*this);
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", threads);
}

} // namespace millrace::actors
