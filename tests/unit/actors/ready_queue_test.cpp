#include <gtest/gtest.h>

#include "actors/dispatcher/ready_queue.hpp"

using namespace millrace::actors;

namespace {

ready_key key(const std::string& id, int prio = 0, int64_t at = 0, uint64_t seq = 0) {
  return ready_key{prio, at, seq, id};
}

std::string next(ready_queue& q, std::vector<std::string> tags) {
  auto p = q.pop_for(tags);
  return p ? p->key.job_id : "-";
}

TEST(ReadyQueue, PriorityThenScheduledTimeThenArrival) {
  ready_queue q;
  q.push("t", "w", key("late", 0, 200, 1));
  q.push("t", "w", key("early", 0, 100, 2));
  q.push("t", "w", key("urgent", 9, 300, 3));
  q.push("t", "w", key("early2", 0, 100, 4));
  EXPECT_EQ(next(q, {"t"}), "urgent");
  EXPECT_EQ(next(q, {"t"}), "early");
  EXPECT_EQ(next(q, {"t"}), "early2");
  EXPECT_EQ(next(q, {"t"}), "late");
  EXPECT_EQ(next(q, {"t"}), "-");
  EXPECT_EQ(q.size(), 0u);
}

TEST(ReadyQueue, OnlyTheSlotsTagsAreServed) {
  ready_queue q;
  q.push("gpu", "w", key("g"));
  q.push("cpu", "w", key("c"));
  EXPECT_EQ(next(q, {"cpu"}), "c");
  EXPECT_EQ(next(q, {"cpu"}), "-");
  EXPECT_TRUE(q.has("gpu"));
  EXPECT_EQ(next(q, {"gpu", "cpu"}), "g");
}

TEST(ReadyQueue, LanesTakeTurnsAtEqualPriority) {
  ready_queue q;
  for (int i = 0; i < 3; ++i)
    q.push("t", "a", key("a" + std::to_string(i), 0, 0, static_cast<uint64_t>(i)));
  q.push("t", "b", key("b0", 0, 0, 10));
  q.push("u", "a", key("u0", 0, 0, 20));
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i)
    got.push_back(next(q, {"t", "u"}));
  EXPECT_EQ(got, (std::vector<std::string>{"a0", "b0", "u0", "a1", "a2"}));
}

TEST(ReadyQueue, PriorityBeatsTurnTaking) {
  ready_queue q;
  q.push("t", "a", key("a-high", 5));
  q.push("t", "a", key("a-high2", 5, 0, 1));
  q.push("t", "b", key("b-low", 1));
  EXPECT_EQ(next(q, {"t"}), "a-high");
  EXPECT_EQ(next(q, {"t"}), "a-high2");
  EXPECT_EQ(next(q, {"t"}), "b-low");
}

TEST(ReadyQueue, EraseRemovesACanceledJob) {
  ready_queue q;
  q.push("t", "w", key("x"));
  q.push("t", "w", key("y", 0, 0, 1));
  EXPECT_TRUE(q.erase("t", "w", key("x")));
  EXPECT_FALSE(q.erase("t", "w", key("x")));
  EXPECT_EQ(next(q, {"t"}), "y");
  EXPECT_EQ(q.size_by_tag().size(), 0u);
}

} // namespace
