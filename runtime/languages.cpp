#include "runtime/languages.hpp"

namespace millrace::runtime {

const std::vector<language>& languages() {
  static const std::vector<language> all{
    {"bash", "bash", ".sh"},
    {"python3", "python3", ".py"},
  };
  return all;
}

const language* find_language(const std::string& name) {
  for (auto& l : languages())
    if (l.name == name)
      return &l;
  return nullptr;
}

const language* language_of_file(const std::string& file_name) {
  for (auto& l : languages())
    if (file_name.size() > l.extension.size()
        && file_name.compare(file_name.size() - l.extension.size(), l.extension.size(),
                             l.extension)
             == 0)
      return &l;
  return nullptr;
}

} // namespace millrace::runtime
