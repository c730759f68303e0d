// The storage threads may destroy their own writer or pool: a stop callback
// sends the owning actor its last message, the actor quits, and the callback
// then drops the last reference to it on the storage thread. Destroying the
// object there must not join the thread itself (std::system_error "Resource
// deadlock avoided", which ended a test process in a full run). Here the
// callback deletes the object directly, every time.

#include <gtest/gtest.h>

#include <future>

#include "storage/batch_writer.hpp"
#include "storage/reader_pool.hpp"
#include "storage/statements.hpp"
#include "tests/support/test_database.hpp"

using namespace millrace;

namespace {

TEST(StopCallback, ABatchWriterDeletedByItsOwnStopCallbackLetsItsThreadGo) {
  test::scratch_database db;
  storage::writer_config cfg;
  cfg.connect = storage::pg::connect_options{db.conninfo(), std::chrono::seconds{5}, "stop-test"};
  auto* w = new storage::batch_writer{cfg, storage::statement_registry::builtin()};
  w->start();
  std::promise<std::thread::id> deleted_on;
  w->stop_async([w, &deleted_on] {
    delete w;
    deleted_on.set_value(std::this_thread::get_id());
  });
  auto f = deleted_on.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds{30}), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id()) << "deleted on the writer thread";
}

TEST(StopCallback, AReaderPoolDeletedByItsOwnStopCallbackLetsItsThreadsGo) {
  test::scratch_database db;
  storage::reader_config cfg;
  cfg.connect = storage::pg::connect_options{db.conninfo(), std::chrono::seconds{5}, "stop-test"};
  cfg.connections = 3;
  auto* p = new storage::reader_pool{cfg, storage::statement_registry::builtin()};
  p->start();
  std::promise<std::thread::id> deleted_on;
  p->stop_async([p, &deleted_on] {
    delete p;
    deleted_on.set_value(std::this_thread::get_id());
  });
  auto f = deleted_on.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds{30}), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id()) << "deleted on a reader thread";
}

} // namespace
