#include "api/openapi_doc.hpp"

#include <stdexcept>

#include "storage/embedded_file.hpp"

namespace millrace::storage {
const std::vector<embedded_file>& openapi_files();
}

namespace millrace::api {

const std::string& openapi_json() {
  static const std::string doc = [] {
    for (auto& f : storage::openapi_files())
      if (std::string{f.name} == "openapi.json")
        return std::string{f.text};
    throw std::logic_error("api/openapi.json is not compiled in");
  }();
  return doc;
}

} // namespace millrace::api
