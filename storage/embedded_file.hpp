// A text file compiled into the binary (migrations, named statements).
// cmake/EmbedText.cmake generates the tables.

#pragma once

#include <string>
#include <vector>

namespace millrace::storage {

struct embedded_file {
  const char* name;
  const char* text;
};

/// The migration files of storage/migrations, in file-name order.
const std::vector<embedded_file>& migration_files();

/// The statement files of storage/sql, in file-name order.
const std::vector<embedded_file>& statement_files();

} // namespace millrace::storage
