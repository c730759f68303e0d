// The storage actors on a real scheduler and a real PostgreSQL: writes answered
// after commit, the bounded queue answering "overloaded", reads through the
// reader pool, status reports, and the storage subtree under a supervisor.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/storage/storage_tree.hpp"
#include "actors/system/actor_config.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/root.hpp"
#include "storage/pg/connection.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/write_collector.hpp"

using namespace millrace;
using namespace millrace::actors;
using namespace std::chrono_literals;

namespace {

writer_actor_config writer_cfg(const std::string& conninfo) {
  writer_actor_config c;
  c.writer.connect = {conninfo, std::chrono::seconds{2}, "millrace-test"};
  return c;
}

class StorageActors : public ::testing::Test {
protected:
  test::scratch_database db;
  millrace_config cfg{2};
  caf::actor_system sys{cfg};
};

TEST_F(StorageActors, AWriteIsAnsweredWithItsRowsAfterCommit) {
  auto w = caf::actor_cast<storage_writer_actor>(
    spawn_storage_writer(sys, writer_cfg(db.conninfo()), "/t/writer"));
  caf::scoped_actor self{sys};
  auto id = test::test_uuid(1);
  self->request(w, 10s, write_atom_v, test::enqueue_write(id))
    .receive([&](storage::result_set& rs) { EXPECT_EQ(rs.size(), 1u); },
             [](caf::error& e) { FAIL() << describe(e); });
  // Committed: visible from another connection the moment the reply arrived.
  storage::pg::connection c{storage::pg::connect_options{db.conninfo()}};
  EXPECT_EQ(c.query("SELECT count(*) FROM job WHERE id = $1", {id}).rows[0][0].text, "1");
  self->send_exit(w, caf::exit_reason::user_shutdown);
}

TEST_F(StorageActors, AFullQueueAnswersOverloadedInsteadOfGrowing) {
  auto wc = writer_cfg(db.conninfo());
  wc.queue_max = 5;
  auto w = caf::actor_cast<storage_writer_actor>(spawn_storage_writer(sys, wc, "/t/writer"));
  storage::pg::connection blocker{storage::pg::connect_options{db.conninfo()}};
  blocker.exec("BEGIN; LOCK TABLE job IN ACCESS EXCLUSIVE MODE");
  caf::scoped_actor self{sys};
  for (int i = 0; i < 20; ++i)
    self->send(w, write_atom_v, test::enqueue_write(test::test_uuid(static_cast<uint64_t>(i))));
  // The first 5 are accepted and wait behind the lock; the other 15 are
  // refused at once, while the database is still blocked.
  int overloaded = 0;
  for (int i = 0; i < 15; ++i)
    self->receive(
      [&](storage::result_set&) { ADD_FAILURE() << "nothing can commit while the table is locked"; },
      [&](caf::error& e) {
        EXPECT_EQ(e, caf::make_error(storage::storage_errc::overloaded)) << describe(e);
        EXPECT_NE(describe(e).find("storage.queue_max"), std::string::npos) << describe(e);
        ++overloaded;
      });
  EXPECT_EQ(overloaded, 15);
  blocker.exec("COMMIT");
  int committed = 0;
  for (int i = 0; i < 5; ++i)
    self->receive([&](storage::result_set&) { ++committed; },
                  [&](caf::error& e) { ADD_FAILURE() << describe(e); });
  EXPECT_EQ(committed, 5);
  self->send_exit(w, caf::exit_reason::user_shutdown);
}

// Regression (a fresh-clone CI run aborted with "Resource deadlock avoided"):
// the writer threads answered with the writer actor as the sender, so an
// answer to a requester that was gone could drop the actor's last reference on
// the writer thread itself, whose state destructor then joined its own thread.
TEST_F(StorageActors, AnAnswerToAGoneRequesterNeverEndsTheWriterOnItsOwnThread) {
  auto w = caf::actor_cast<storage_writer_actor>(
    spawn_storage_writer(sys, writer_cfg(db.conninfo()), "/t/writer"));
  caf::actor_addr addr = w.address(); // keeps the control block readable
  auto* block = caf::actor_cast<caf::actor_control_block*>(addr);
  storage::pg::connection blocker{storage::pg::connect_options{db.conninfo()}};
  blocker.exec("BEGIN; LOCK TABLE job IN ACCESS EXCLUSIVE MODE");
  {
    caf::scoped_actor requester{sys};
    requester->send(w, write_atom_v, test::enqueue_write(test::test_uuid(7)));
    // Same sender, FIFO mailbox: once this is answered, the write was handed
    // to a writer thread, which now waits behind the lock.
    requester->request(w, 10s, status_atom_v)
      .receive([](actor_status&) {}, [](caf::error& e) { FAIL() << describe(e); });
  } // the requester is gone: its answer will be dropped
  // Drop the test's reference on another thread: if nothing else holds the
  // actor, its state is destroyed right there, joining the writer thread once
  // the lock is released below.
  // Wait until it was dropped: either it returned, or it is destroying the
  // actor (no strong reference left) and waits for the writer thread.
  std::atomic<bool> dropped{false};
  std::thread dropper([h = std::move(w), &dropped]() mutable {
    h = nullptr;
    dropped = true;
  });
  while (!dropped.load() && block->strong_refs.load() > 0)
    std::this_thread::yield();
  blocker.exec("COMMIT"); // the writer thread answers the gone requester now
  dropper.join();
  // The write was still committed: at once if the drop destroyed the actor
  // (its writer thread was joined), shortly otherwise (something else still
  // held the actor for a moment, and the writer thread commits on its own).
  caf::scoped_actor self{sys};
  std::string count;
  for (int i = 0; i < 1000 && count != "1"; ++i) {
    count = blocker.query("SELECT count(*) FROM job WHERE id = $1", {test::test_uuid(7)})
              .rows[0][0].text;
    if (count != "1")
      self->receive(caf::after(10ms) >> [] {});
  }
  EXPECT_EQ(count, "1");
}

TEST_F(StorageActors, ReadsGoThroughTheReaderPool) {
  auto w = caf::actor_cast<storage_writer_actor>(
    spawn_storage_writer(sys, writer_cfg(db.conninfo()), "/t/writer"));
  reader_actor_config rc;
  rc.reader.connect = {db.conninfo(), std::chrono::seconds{2}, "millrace-test"};
  auto r = caf::actor_cast<storage_reader_actor>(spawn_storage_reader(sys, rc, "/t/reader"));
  caf::scoped_actor self{sys};
  auto id = test::test_uuid(3);
  self->request(w, 10s, write_atom_v, test::enqueue_write(id))
    .receive([](storage::result_set&) {}, [](caf::error& e) { FAIL() << describe(e); });
  self->request(r, 10s, read_atom_v, storage::read_request{"get_job", {id}})
    .receive(
      [&](storage::result_set& rs) {
        ASSERT_EQ(rs.size(), 1u);
        EXPECT_EQ(rs.rows[0][rs.column("kind")].text, "noop");
      },
      [](caf::error& e) { FAIL() << describe(e); });
  // A bulk write statement is not a read.
  self->request(r, 10s, read_atom_v, storage::read_request{"enqueue_job", {}})
    .receive([](storage::result_set&) { FAIL() << "expected an error"; },
             [](caf::error& e) {
               EXPECT_EQ(e, caf::make_error(storage::storage_errc::invalid_input)) << describe(e);
             });
  self->send_exit(w, caf::exit_reason::user_shutdown);
  self->send_exit(r, caf::exit_reason::user_shutdown);
}

TEST_F(StorageActors, TheStorageSubtreeRegistersAndReportsStatus) {
  auto reg = std::make_shared<registry>();
  root_config rc;
  rc.storage.writer = writer_cfg(db.conninfo());
  rc.storage.reader.reader.connect = {db.conninfo(), std::chrono::seconds{2}, "t"};
  auto root = spawn_root(sys, reg, rc);
  // Stop the tree on every way out, a failed ASSERT included: the actor
  // system waits for it when the fixture ends, so a live root would hang.
  struct stop_on_exit {
    caf::actor a;
    ~stop_on_exit() { caf::anon_send_exit(a, caf::exit_reason::user_shutdown); }
  } guard{root};
  caf::scoped_actor self{sys};
  // Children are spawned asynchronously (connecting, then the first
  // partition upkeep), and a supervisor enters its child in the registry
  // once the child's start returned, so a grandchild may be there before
  // its parent: wait for every path, generously (the suite runs beside
  // others on 2 cores).
  const std::vector<const char*> expected{paths::root, paths::storage, paths::storage_writer,
                                          paths::storage_reader, paths::storage_maintenance};
  auto all_there = [&] {
    for (auto* p : expected)
      if (!reg->resolve(p))
        return false;
    return true;
  };
  for (int i = 0; i < 3000 && !all_there(); ++i)
    self->receive(caf::after(10ms) >> [] {});
  for (auto* p : expected)
    ASSERT_TRUE(reg->resolve(p)) << p;
  auto entry = reg->find(paths::storage_writer);
  EXPECT_EQ(entry->kind, "storage_writer");
  EXPECT_EQ(entry->parent, paths::storage);
  for (auto& e : reg->list("/millrace")) {
    self->request(e.handle, 5s, status_atom_v)
      .receive([&](actor_status& st) { EXPECT_FALSE(st.summary.empty()) << e.path; },
               [&](caf::error& err) { ADD_FAILURE() << e.path << ": " << describe(err); });
  }
  self->monitor(root);
  self->send_exit(root, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg& dm) { EXPECT_EQ(dm.reason, caf::exit_reason::user_shutdown); });
  EXPECT_FALSE(reg->resolve(paths::storage_writer)) << "stopped children leave the registry";
}

} // namespace

namespace {

// With several connections, a barrier write (empty key) is answered only
// after everything sent before it committed, and everything sent after it is
// answered after it. The writes before it are stuck behind a table lock that
// the barrier itself does not need: without the fence it would overtake them.
TEST_F(StorageActors, ABarrierOrdersWritesAcrossConnections) {
  auto wc = writer_cfg(db.conninfo());
  wc.connections = 3;
  auto w = caf::actor_cast<storage_writer_actor>(spawn_storage_writer(sys, wc, "/t/writer"));
  storage::pg::connection blocker{storage::pg::connect_options{db.conninfo()}};
  blocker.exec("BEGIN; LOCK TABLE job IN ACCESS EXCLUSIVE MODE");
  caf::scoped_actor self{sys};
  for (uint64_t i = 0; i < 12; ++i)
    self->send(w, write_atom_v, test::enqueue_write(test::test_uuid(i)));
  self->send(w, write_atom_v, storage::write_request{"ensure_partitions", {"1"}, ""});
  for (uint64_t i = 100; i < 112; ++i)
    self->send(w, write_atom_v, test::enqueue_write(test::test_uuid(i)));
  // Nothing can be answered yet: the barrier waits for the locked writes.
  std::vector<std::string> kinds;
  self->receive(
    [&](storage::result_set& rs) {
      ADD_FAILURE() << "early answer: " << rs.columns[0];
      kinds.push_back("early");
    },
    [&](caf::error& e) { kinds.push_back("early error: " + describe(e)); },
    caf::after(std::chrono::milliseconds{300}) >> [] {});
  blocker.exec("COMMIT");
  // Every answer comes, or the test fails naming how far it got and what the
  // writer threads did (never a hang until ctest's timeout).
  bool stalled = false;
  while (kinds.size() < 25 && !stalled)
    self->receive(
      [&](storage::result_set& rs) {
        kinds.push_back(rs.column("created") >= 0 ? "barrier" : "enqueue");
      },
      [&](caf::error& e) { kinds.push_back("error: " + describe(e)); },
      caf::after(std::chrono::seconds{30}) >> [&] { stalled = true; });
  if (stalled) {
    self->request(w, 10s, stats_atom_v)
      .receive(
        [&](storage::writer_stats& s) {
          ADD_FAILURE() << "only " << kinds.size() << " of 25 answers within 30 s; writer: "
                        << s.batches << " batches, " << s.writes << " writes, " << s.failed_writes
                        << " failed, " << s.reconnects << " reconnects, connected="
                        << s.connected;
        },
        [&](caf::error& e) { ADD_FAILURE() << "stalled, and no stats: " << describe(e); });
  }
  ASSERT_EQ(kinds.size(), 25u);
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(kinds[static_cast<size_t>(i)], i == 12 ? "barrier" : "enqueue") << "answer " << i;
  self->send_exit(w, caf::exit_reason::user_shutdown);
}

} // namespace
