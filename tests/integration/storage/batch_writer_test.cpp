// The group-commit writer against a real PostgreSQL: batching under
// concurrency, idempotent re-sends, isolation of a bad write, no false
// acknowledgement when the backend is killed mid-batch, clear errors when the
// database is unreachable, and a stop that commits what was accepted.

#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "storage/batch_writer.hpp"
#include "storage/pg/connection.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/write_collector.hpp"

using namespace millrace;
using namespace std::chrono_literals;
using storage::pg::connect_options;
using storage::pg::connection;

namespace {

// The shared test writer set-up (tests/support/write_collector.hpp).
const auto config_for = &test::writer_config_for;

auto in(std::chrono::milliseconds d) {
  return storage::batch_writer::clock::now() + d;
}

std::set<std::string> job_ids(connection& c) {
  std::set<std::string> out;
  for (auto& row : c.query("SELECT id FROM job").rows)
    out.insert(row[0].text);
  return out;
}

TEST(BatchWriter, CommitsAndReturnsTheStatementsRows) {
  test::scratch_database db;
  test::write_collector col;
  storage::batch_writer w{config_for(db.conninfo()), storage::statement_registry::builtin()};
  w.start();
  auto id = test::test_uuid(1);
  ASSERT_FALSE(w.submit(test::enqueue_write(id), in(10s), col.reply(1)));
  ASSERT_TRUE(col.wait_for(1));
  auto r = col.get(1);
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.rows.size(), 1u) << "one row per inserted job";
  EXPECT_FALSE(r.rows.rows[0][r.rows.column("created_at")].null);
  EXPECT_EQ(r.rows.column("id"), -1) << "the matching key column is not handed back";
  connection c{connect_options{db.conninfo()}};
  EXPECT_EQ(c.query("SELECT state FROM job_queue WHERE job_id = $1", {id}).rows[0][0].text,
            "queued");
  EXPECT_EQ(c.query("SELECT kind FROM job_event WHERE job_id = $1", {id}).rows[0][0].text,
            "queued");
  w.stop();
}

TEST(BatchWriter, ConcurrentSendersShareBatches) {
  test::scratch_database db;
  test::write_collector col;
  storage::batch_writer w{config_for(db.conninfo()), storage::statement_registry::builtin()};
  w.start();
  constexpr int threads = 8, per_thread = 500;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        uint64_t n = static_cast<uint64_t>(t * per_thread + i + 1);
        w.submit(test::enqueue_write(test::test_uuid(n)), in(30s), col.reply(n));
      }
    });
  for (auto& t : ts)
    t.join();
  ASSERT_TRUE(col.wait_for(threads * per_thread));
  for (auto& [token, r] : col.results)
    ASSERT_TRUE(r.ok()) << token << ": " << r.message;
  auto s = w.stats();
  EXPECT_EQ(s.writes, static_cast<uint64_t>(threads * per_thread));
  EXPECT_GT(s.max_batch, 1u) << "concurrent writes must be grouped";
  EXPECT_LT(s.batches, s.writes / 4) << "expected several writes per transaction on average";
  connection c{connect_options{db.conninfo()}};
  EXPECT_EQ(job_ids(c).size(), static_cast<size_t>(threads * per_thread));
  w.stop();
}

TEST(BatchWriter, ARepeatedEnqueueIsRecognisedNotDuplicated) {
  test::scratch_database db;
  test::write_collector col;
  storage::batch_writer w{config_for(db.conninfo()), storage::statement_registry::builtin()};
  w.start();
  auto id = test::test_uuid(7);
  w.submit(test::enqueue_write(id), in(10s), col.reply(1));
  ASSERT_TRUE(col.wait_for(1));
  w.submit(test::enqueue_write(id), in(10s), col.reply(2));
  ASSERT_TRUE(col.wait_for(2));
  auto r = col.get(2);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.rows.empty()) << "an existing job is not inserted again";
  connection c{connect_options{db.conninfo()}};
  EXPECT_EQ(c.query("SELECT count(*) FROM job_event").rows[0][0].text, "1");
  w.stop();
}

// enqueue_claimed_job (a submission that is its own claim): a re-send of a
// write that committed (its answer lost) fails the plain statement on the
// job's key, and its careful twin answers with the job again when the claim
// is its own (running, attempt 1, the same lease owner), else with no row.
TEST(BatchWriter, AClaimedEnqueueSentAgainIsRecognisedAsItsOwnClaim) {
  test::scratch_database db;
  test::write_collector col;
  storage::batch_writer w{config_for(db.conninfo()), storage::statement_registry::builtin()};
  w.start();
  auto id = test::test_uuid(8);
  auto claimed = [&](const std::string& owner) {
    auto req = test::enqueue_write(id);
    req.statement = "enqueue_claimed_job";
    req.params.emplace_back(owner);
    req.params.emplace_back("30000");
    return req;
  };
  w.submit(claimed("n/s1"), in(10s), col.reply(1));
  ASSERT_TRUE(col.wait_for(1));
  ASSERT_TRUE(col.get(1).ok()) << col.get(1).message;
  ASSERT_EQ(col.get(1).rows.size(), 1u);
  w.submit(claimed("n/s1"), in(10s), col.reply(2));
  ASSERT_TRUE(col.wait_for(2));
  ASSERT_TRUE(col.get(2).ok()) << col.get(2).message;
  ASSERT_EQ(col.get(2).rows.size(), 1u) << "its own claim, already committed";
  EXPECT_EQ(col.get(2).rows.rows[0][0].text, col.get(1).rows.rows[0][0].text) << "created_at";
  w.submit(claimed("n/s2"), in(10s), col.reply(3));
  ASSERT_TRUE(col.wait_for(3));
  ASSERT_TRUE(col.get(3).ok()) << col.get(3).message;
  EXPECT_TRUE(col.get(3).rows.empty()) << "another owner's claim is not this write's";
  connection c{connect_options{db.conninfo()}};
  auto q = c.query("SELECT state, attempt, lease_owner, lease_deadline > now() FROM job_queue");
  ASSERT_EQ(q.rows.size(), 1u);
  EXPECT_EQ(q.rows[0][0].text, "running");
  EXPECT_EQ(q.rows[0][1].text, "1");
  EXPECT_EQ(q.rows[0][2].text, "n/s1");
  EXPECT_EQ(q.rows[0][3].text, "t");
  auto ev = c.query("SELECT string_agg(attempt || ':' || kind, ',' ORDER BY attempt) FROM job_event");
  EXPECT_EQ(ev.rows[0][0].text, "0:queued,1:running");
  EXPECT_GE(w.stats().isolations, 1u);
  w.stop();
}

TEST(BatchWriter, ARejectedWriteFailsAloneAndTheRestOfItsBatchCommits) {
  test::scratch_database db;
  test::write_collector col;
  // Hold a lock so that all writes pile up into one batch behind it.
  connection blocker{connect_options{db.conninfo()}};
  blocker.exec("BEGIN; LOCK TABLE job IN ACCESS EXCLUSIVE MODE");
  storage::batch_writer w{config_for(db.conninfo()), storage::statement_registry::builtin()};
  w.start();
  w.submit(test::enqueue_write(test::test_uuid(100)), in(30s), col.reply(1)); // first batch, blocked
  for (uint64_t i = 2; i <= 20; ++i)
    w.submit(test::enqueue_write(test::test_uuid(100 + i), i == 10 ? "bogus" : "noop"), in(30s), col.reply(i));
  blocker.exec("COMMIT");
  ASSERT_TRUE(col.wait_for(20));
  for (uint64_t i = 1; i <= 20; ++i) {
    auto r = col.get(i);
    if (i == 10) {
      EXPECT_EQ(r.code, storage::storage_errc::constraint_violation) << r.message;
      EXPECT_NE(r.message.find("job_kind_check"), std::string::npos) << r.message;
    } else {
      EXPECT_TRUE(r.ok()) << i << ": " << r.message;
    }
  }
  EXPECT_GE(w.stats().isolations, 1u);
  connection c{connect_options{db.conninfo()}};
  EXPECT_EQ(job_ids(c).size(), 19u);
  w.stop();
}

TEST(BatchWriter, KillingTheBackendMidBatchNeverYieldsAFalseAcknowledgement) {
  test::scratch_database db;
  test::write_collector col;
  auto cfg = config_for(db.conninfo());
  storage::batch_writer w{cfg, storage::statement_registry::builtin()};
  w.start();
  connection killer{connect_options{db.conninfo()}};
  std::atomic<bool> sending{true};
  std::atomic<uint64_t> sent{0};
  std::thread producer([&] {
    uint64_t n = 0;
    while (sending) {
      ++n;
      w.submit(test::enqueue_write(test::test_uuid(n)), in(20s), col.reply(n));
      sent = n;
      if (n % 64 == 0)
        std::this_thread::yield();
    }
  });
  // Terminate the writer's backend several times while writes stream in;
  // each time, wait until it has reconnected (a new backend pid) and got
  // more writes in before the next kill.
  int kills = 0;
  int killed_pid = 0;
  uint64_t next_at = 1000;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (kills < 5 && std::chrono::steady_clock::now() < until) {
    auto pid = w.backend_pid();
    if (pid != 0 && pid != killed_pid && sent > next_at) {
      killer.query("SELECT pg_terminate_backend($1)", {std::to_string(pid)});
      killed_pid = pid;
      next_at = sent + 1000;
      ++kills;
    }
    std::this_thread::yield();
  }
  sending = false;
  producer.join();
  ASSERT_EQ(kills, 5);
  ASSERT_TRUE(col.wait_for(sent));
  auto in_db = job_ids(killer);
  size_t acked = 0, failed = 0;
  for (auto& [token, r] : col.results) {
    if (r.ok()) {
      ++acked;
      EXPECT_TRUE(in_db.count(test::test_uuid(token)))
        << "write " << token << " was acknowledged but is not in the database";
    } else {
      ++failed;
      // A failure may be honest either way; it must never be a silent loss of
      // something acknowledged (checked above).
      EXPECT_TRUE(r.code == storage::storage_errc::outcome_unknown
                  || r.code == storage::storage_errc::unavailable
                  || r.code == storage::storage_errc::timeout)
        << storage::to_string(r.code) << ": " << r.message;
    }
  }
  auto s = w.stats();
  EXPECT_GE(s.reconnects, 5u);
  EXPECT_GT(acked, sent / 2) << "the writer must reconnect and go on";
  // And it keeps working afterwards.
  auto last = sent + 1;
  w.submit(test::enqueue_write(test::test_uuid(last)), in(10s), col.reply(last));
  ASSERT_TRUE(col.wait_for(sent + 1));
  EXPECT_TRUE(col.get(last).ok()) << col.get(last).message;
  w.stop();
  std::printf("sent %llu, acknowledged %zu, failed %zu, reconnects %llu, re-sent batches %llu\n",
              static_cast<unsigned long long>(sent.load()), acked, failed,
              static_cast<unsigned long long>(s.reconnects),
              static_cast<unsigned long long>(s.resent_batches));
}

// Statements of this test only: an idempotent bulk insert, a
// non-idempotent counter bump, and a gate that holds the writer busy.
const std::vector<storage::embedded_file>& ambiguity_statements() {
  static const std::vector<storage::embedded_file> files{
    {"test.sql", "-- name: put_item\n"
                 "-- mode: bulk\n"
                 "-- idempotent: yes\n"
                 "WITH u AS (SELECT * FROM unnest($1::int[]) WITH ORDINALITY AS t(x, i)),\n"
                 "ins AS (INSERT INTO t_items SELECT x FROM u ON CONFLICT DO NOTHING)\n"
                 "SELECT i FROM u\n"
                 "\n"
                 "-- name: bump\n"
                 "UPDATE t_counter SET n = n + 1 RETURNING n\n"
                 "\n"
                 "-- name: gate\n"
                 "-- idempotent: yes\n"
                 "INSERT INTO t_gate VALUES (1) ON CONFLICT DO NOTHING\n"}};
  return files;
}

TEST(BatchWriter, AKillDuringTheCommitResendsIdempotentWritesOnly) {
  test::scratch_database db;
  connection admin{connect_options{db.conninfo()}};
  admin.exec("CREATE TABLE t_items (x int PRIMARY KEY); CREATE TABLE t_counter (n int);"
             "CREATE TABLE t_gate (x int PRIMARY KEY); INSERT INTO t_counter VALUES (0)");
  storage::statement_registry reg{ambiguity_statements()};
  test::write_collector col;
  storage::batch_writer w{config_for(db.conninfo()), reg};
  w.start();
  // Connect and prepare first.
  w.submit(storage::write_request{"put_item", {"0"}, "k0"}, in(30s), col.reply(1));
  ASSERT_TRUE(col.wait_for(1));
  auto pid = w.backend_pid();
  ASSERT_NE(pid, 0);
  auto wait_for_lock = [&] {
    for (int i = 0; i < 2000; ++i)
      if (admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 "
                      "AND wait_event_type = 'Lock'",
                      {std::to_string(pid)})
            .rows[0][0]
            .text
          == "1")
        return true;
    return false;
  };
  // Hold the writer inside a first batch (the gate), so the writes below
  // queue up and are taken together as the next batch.
  connection gate{connect_options{db.conninfo()}};
  gate.exec("BEGIN; LOCK TABLE t_gate IN ACCESS EXCLUSIVE MODE");
  w.submit(storage::write_request{"gate", {}, ""}, in(30s), col.reply(100));
  ASSERT_TRUE(wait_for_lock()) << "the gate batch never reached its lock";
  // Then block both tables, so that batch hangs inside its transaction,
  // after everything including the Sync was sent.
  connection blocker{connect_options{db.conninfo()}};
  blocker.exec("BEGIN; LOCK TABLE t_items, t_counter IN ACCESS EXCLUSIVE MODE");
  for (uint64_t i = 2; i <= 11; ++i)
    w.submit(storage::write_request{"put_item", {std::to_string(i)}, "k" + std::to_string(i)}, in(30s), col.reply(i));
  w.submit(storage::write_request{"bump", {}, ""}, in(30s), col.reply(12));
  gate.exec("COMMIT");
  ASSERT_TRUE(col.wait_for(2)); // k0 and the gate
  ASSERT_TRUE(col.get(100).ok()) << col.get(100).message;
  ASSERT_TRUE(wait_for_lock()) << "the batch never reached the lock";
  admin.query("SELECT pg_terminate_backend($1)", {std::to_string(pid)});
  blocker.exec("COMMIT");
  ASSERT_TRUE(col.wait_for(13)); // and 2..11, bump
  for (uint64_t i = 2; i <= 11; ++i)
    EXPECT_TRUE(col.get(i).ok()) << i << ": " << col.get(i).message;
  auto bump = col.get(12);
  EXPECT_EQ(bump.code, storage::storage_errc::outcome_unknown) << bump.message;
  EXPECT_NE(bump.message.find("not idempotent"), std::string::npos) << bump.message;
  EXPECT_EQ(admin.query("SELECT count(*) FROM t_items").rows[0][0].text, "11");
  EXPECT_EQ(admin.query("SELECT n FROM t_counter").rows[0][0].text, "0")
    << "the non-idempotent write was not sent again";
  auto s = w.stats();
  EXPECT_EQ(s.reconnects, 1u);
  EXPECT_EQ(s.resent_batches, 1u);
  w.stop();
}

TEST(BatchWriter, AnUnreachableDatabaseFailsWritesAtTheirDeadline) {
  test::write_collector col;
  auto cfg = config_for("host=/nonexistent-socket-dir port=1 dbname=x user=x");
  storage::batch_writer w{cfg, storage::statement_registry::builtin()};
  w.start(false);
  auto t0 = std::chrono::steady_clock::now();
  w.submit(test::enqueue_write(test::test_uuid(1)), in(300ms), col.reply(1));
  ASSERT_TRUE(col.wait_for(1, std::chrono::seconds{10}));
  auto took = std::chrono::steady_clock::now() - t0;
  auto r = col.get(1);
  EXPECT_EQ(r.code, storage::storage_errc::unavailable) << r.message;
  EXPECT_NE(r.message.find("was not applied"), std::string::npos) << r.message;
  EXPECT_LT(took, 3s) << "the error must come soon after the deadline";
  w.stop();
}

TEST(BatchWriter, UnknownStatementsAndWrongArityAreRejectedAtOnce) {
  test::write_collector col;
  storage::batch_writer w{config_for("host=/nonexistent"), storage::statement_registry::builtin()};
  auto r = w.submit(storage::write_request{"no_such_statement", {}, ""}, in(1s), col.reply(1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, storage::storage_errc::unknown_statement);
  r = w.submit(storage::write_request{"enqueue_job", {"x"}, ""}, in(1s), col.reply(2));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, storage::storage_errc::invalid_input);
  EXPECT_NE(r->message.find("takes 18 parameters, got 1"), std::string::npos) << r->message;
}

TEST(BatchWriter, StopCommitsEverythingAlreadyAccepted) {
  test::scratch_database db;
  test::write_collector col;
  storage::batch_writer w{config_for(db.conninfo()), storage::statement_registry::builtin()};
  w.start();
  for (uint64_t i = 1; i <= 3000; ++i)
    w.submit(test::enqueue_write(test::test_uuid(i)), in(30s), col.reply(i));
  w.stop();
  ASSERT_TRUE(col.wait_for(3000, std::chrono::seconds{1}));
  for (auto& [t, r] : col.results)
    EXPECT_TRUE(r.ok()) << t << ": " << r.message;
  auto late = w.submit(test::enqueue_write(test::test_uuid(9999)), in(1s), col.reply(9999));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->code, storage::storage_errc::shutting_down);
  connection c{connect_options{db.conninfo()}};
  EXPECT_EQ(job_ids(c).size(), 3000u);
}

} // namespace
