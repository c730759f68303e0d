#include "runtime/flow/model.hpp"

namespace millrace::flow {

const char* to_string(module_type t) {
  switch (t) {
    case module_type::rawscript: return "rawscript";
    case module_type::script: return "script";
    case module_type::flow: return "flow";
    case module_type::identity: return "identity";
    case module_type::forloopflow: return "forloopflow";
    case module_type::whileloopflow: return "whileloopflow";
    case module_type::branchone: return "branchone";
    case module_type::branchall: return "branchall";
  }
  return "unknown";
}

std::optional<module_type> module_type_from_string(std::string_view name) {
  static constexpr module_type all[] = {
    module_type::rawscript,   module_type::script,        module_type::flow,
    module_type::identity,    module_type::forloopflow,   module_type::whileloopflow,
    module_type::branchone,   module_type::branchall,
  };
  for (auto t : all)
    if (name == to_string(t))
      return t;
  return std::nullopt;
}

} // namespace millrace::flow
