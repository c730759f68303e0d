// Runtime support files compiled into the binary (cmake/EmbedText.cmake).

#pragma once

#include <vector>

namespace millrace::runtime {

struct embedded_file {
  const char* name;
  const char* text;
};

/// runtime/python/*.py
const std::vector<embedded_file>& python_files();

} // namespace millrace::runtime
