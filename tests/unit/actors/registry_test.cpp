#include <gtest/gtest.h>

#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "tests/support/actor_test.hpp"

using namespace millrace::actors;

namespace {

class RegistryTest : public millrace::test::actor_test {};

// CAF 0.17.6 dereferences a null argument tuple when a function actor is
// spawned without arguments (UBSan reports it), so `idle` takes one.
caf::behavior idle(caf::event_based_actor*, int) {
  return {[](int) {}};
}

TEST_F(RegistryTest, ResolvesByPathAndListsByPrefix) {
  registry reg;
  auto a = sys.spawn(idle, 0);
  auto b = sys.spawn(idle, 0);
  reg.put({"/m/storage/writer", "storage_writer", "/m/storage", a, {}, 0});
  reg.put({"/m/storage/reader", "storage_reader", "/m/storage", b, {}, 0});
  reg.put({"/m/other", "x", "/m", b, {}, 0});
  EXPECT_EQ(reg.resolve("/m/storage/writer"), a);
  EXPECT_FALSE(reg.resolve("/m/nothing"));
  auto under = reg.list("/m/storage/");
  ASSERT_EQ(under.size(), 2u);
  EXPECT_EQ(under[0].path, "/m/storage/reader");
  EXPECT_EQ(under[1].path, "/m/storage/writer");
  EXPECT_EQ(reg.size(), 3u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

TEST_F(RegistryTest, ALateRemovalOfAnOldIncarnationKeepsItsReplacement) {
  registry reg;
  auto old_h = sys.spawn(idle, 0);
  auto new_h = sys.spawn(idle, 0);
  reg.put({"/m/x", "k", "/m", old_h, {}, 0});
  reg.put({"/m/x", "k", "/m", new_h, {}, 1});
  reg.remove("/m/x", old_h.address());
  EXPECT_EQ(reg.resolve("/m/x"), new_h);
  reg.remove("/m/x", new_h.address());
  EXPECT_FALSE(reg.resolve("/m/x"));
  caf::anon_send_exit(old_h, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(new_h, caf::exit_reason::user_shutdown);
}

TEST(ChildPath, JoinsSegments) {
  EXPECT_EQ(child_path("/millrace", "storage"), "/millrace/storage");
  EXPECT_EQ(child_path("", "millrace"), "/millrace");
  EXPECT_EQ(child_path("/", "x"), "/x");
}

TEST(JsonEscape, EscapesControlsQuotesAndInvalidUtf8) {
  EXPECT_EQ(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escape("l1\nl2\t\r"), "l1\\nl2\\t\\r");
  EXPECT_EQ(json_escape(std::string("\x01", 1)), "\\u0001");
  EXPECT_EQ(json_escape("caf\xc3\xa9"), "caf\xc3\xa9") << "valid UTF-8 passes through";
  EXPECT_EQ(json_escape("bad\xff"), "bad\\ufffd");
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd") << "surrogates are invalid";
  EXPECT_EQ(json_escape("\xc0\xaf"), "\\ufffd\\ufffd") << "overlong forms are invalid";
}

} // namespace
