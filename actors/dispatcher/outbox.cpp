// The dispatcher's writes. Everything it writes while handling one burst of
// messages goes to the storage writer as one group message (one message, one
// reply, instead of one each); `flush` is a message to itself, so it runs
// after the messages already in the mailbox.

#include <spdlog/spdlog.h>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/registry.hpp"

namespace millrace::actors {

void write(dispatcher_ptr self, storage::write_request req,
           std::function<void(storage::op_result&)> then) {
  auto& st = self->state;
  st.outbox.push_back(std::move(req));
  st.outbox_then.push_back(std::move(then));
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom_v);
  }
}

void flush(dispatcher_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.outbox.empty())
    return;
  auto reqs = std::move(st.outbox);
  auto thens = std::make_shared<std::vector<std::function<void(storage::op_result&)>>>(
    std::move(st.outbox_then));
  st.outbox.clear();
  st.outbox_then.clear();
  auto fail_all = [thens](storage::storage_errc code, const std::string& why) {
    for (auto& then : *thens) {
      auto r = storage::op_result::failure(code, why);
      then(r);
    }
  };
  auto writer = st.reg->resolve_as<storage_writer_actor>(paths::storage_writer);
  if (!writer) {
    fail_all(storage::storage_errc::unavailable, "the storage writer is not running");
    return;
  }
  // The writer answers every write by its own deadline (storage.write_timeout);
  // this timeout only covers a writer that dies with the group in hand.
  self->request(writer, std::chrono::minutes{2}, write_atom_v, std::move(reqs))
    .then(
      [thens](std::vector<storage::op_result>& results) {
        for (size_t i = 0; i < thens->size() && i < results.size(); ++i)
          (*thens)[i](results[i]);
      },
      [self, fail_all](caf::error& err) {
        self->state.log->warn("a group of writes failed: {}", describe(err));
        auto code = err.category() == caf::atom("storage")
                      ? static_cast<storage::storage_errc>(err.code())
                      : storage::storage_errc::unavailable;
        fail_all(code, describe(err));
      });
}

int64_t wall_ms(dispatcher_ptr self) {
  auto& st = self->state;
  auto elapsed = self->clock().now() - st.clock_at_start;
  return st.wall_at_start_ms
         + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
}

std::string format_timestamp_ms(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

} // namespace millrace::actors
