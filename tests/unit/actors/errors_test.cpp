#include <gtest/gtest.h>

#include "actors/protocol/errors.hpp"
#include "actors/system/actor_config.hpp"

#include "caf/actor_system.hpp"

using namespace millrace;

namespace {

TEST(Errors, EveryStorageCodeHasAName) {
  for (int i = 0; i <= 10; ++i) {
    auto name = storage::to_string(static_cast<storage::storage_errc>(i));
    EXPECT_EQ(name.find("storage_errc("), std::string::npos) << "code " << i << " has no name";
  }
}

TEST(Errors, EverySupervisionCodeHasAName) {
  for (int i = 0; i <= 2; ++i) {
    auto name = actors::to_string(static_cast<actors::supervision_errc>(i));
    EXPECT_EQ(name.find("supervision_errc("), std::string::npos) << "code " << i;
  }
}

TEST(Errors, DescribeShowsCategoryCodeAndContext) {
  auto err = caf::make_error(storage::storage_errc::overloaded, std::string("queue full"));
  EXPECT_EQ(actors::describe(err), "storage: overloaded (queue full)");
  actors::millrace_config cfg{1};
  caf::actor_system sys{cfg};
  EXPECT_EQ(sys.render(err), "storage: overloaded (queue full)");
}

TEST(Errors, SqlStatesMapToCodes) {
  using storage::storage_errc;
  EXPECT_EQ(storage::errc_from_sqlstate("23505"), storage_errc::constraint_violation);
  EXPECT_EQ(storage::errc_from_sqlstate("22P02"), storage_errc::invalid_input);
  EXPECT_EQ(storage::errc_from_sqlstate("57014"), storage_errc::timeout);
  EXPECT_EQ(storage::errc_from_sqlstate("08006"), storage_errc::unavailable);
  EXPECT_EQ(storage::errc_from_sqlstate("57P01"), storage_errc::unavailable);
  EXPECT_EQ(storage::errc_from_sqlstate("42P01"), storage_errc::database_error);
}

} // namespace
