// The bash runtime. Windmill's conventions: parameters are positional,
// declared as `name="$1"`; args are passed in that order; the result is the
// last line of stdout, parsed as JSON when it is JSON and a string otherwise.

#pragma once

#include <string>
#include <vector>

#include "runtime/runtime.hpp"

namespace millrace::runtime {

struct bash_parameter {
  std::string name;
  int position = 0;     // $1 -> 1
  bool has_default = false;
  std::string default_value;
};

/// The parameters a bash script declares, by position.
std::vector<bash_parameter> bash_parameters(const std::string& code);

class bash_runtime final : public language_runtime {
public:
  const language& lang() const override;
  sandbox::launch_plan plan(const job_input& in) const override;
  verdict judge(const sandbox::exit_info& exit, const captured_output& out) const override;
  std::string infer_schema(const std::string& code) const override;
};

} // namespace millrace::runtime
