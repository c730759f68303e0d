// The shared folders of same_worker flows on a worker node: only a flow job
// id (a lowercase UUID) names one, and a node lists only such folders.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "actors/worker/shared_folder.hpp"

namespace millrace::test {
namespace {

namespace fs = std::filesystem;
using actors::list_shared_folders;
using actors::shared_folder_path;

const std::string id_a = "0190f1a2-0000-7000-8000-00000000000a";
const std::string id_b = "0190f1a2-0000-7000-8000-00000000000b";
const std::string id_c = "0190f1a2-0000-7000-8000-00000000000c";

TEST(SharedFolder, OnlyAFlowJobIdNamesAFolderUnderTheRoot) {
  EXPECT_EQ(shared_folder_path("/r", id_a), "/r/" + id_a);
  EXPECT_EQ(shared_folder_path("", id_a), "");
  EXPECT_EQ(shared_folder_path("/r", ".."), "");
  EXPECT_EQ(shared_folder_path("/r", "../" + id_a.substr(3)), "");
  EXPECT_EQ(shared_folder_path("/r", "0190F1A2-0000-7000-8000-00000000000A"), "") << "uppercase";
}

TEST(SharedFolder, ANodeListsItsFlowFoldersAndNothingElse) {
  char tmpl[] = "/tmp/millrace-shared-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  fs::create_directory(root + "/" + id_a);
  fs::create_directory(root + "/" + id_b);
  fs::create_directory(root + "/not-a-flow");
  std::ofstream{root + "/" + id_c} << "a file, not a folder";
  fs::create_directory_symlink(root + "/" + id_a, root + "/0190f1a2-0000-7000-8000-00000000000d");
  EXPECT_EQ(list_shared_folders(root), (std::set<std::string>{id_a, id_b}));
  EXPECT_TRUE(list_shared_folders(root + "/missing").empty());
  EXPECT_TRUE(list_shared_folders("").empty());
  fs::remove_all(root);
}

} // namespace
} // namespace millrace::test
