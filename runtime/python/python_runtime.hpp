// The python3 runtime: /usr/bin/python3 runs the script's `main(**args)`
// through runtime/python/wrapper.py, which sends the result (or the error)
// over a pipe of its own (fd 3), never over stdout; parameters are inferred
// with Python's own `ast` module (runtime/python/infer_schema.py).

#pragma once

#include "runtime/runtime.hpp"

namespace millrace::runtime {

class python_runtime final : public language_runtime {
public:
  const language& lang() const override;
  sandbox::launch_plan plan(const job_input& in) const override;
  verdict judge(const sandbox::exit_info& exit, const captured_output& out) const override;
  std::string infer_schema(const std::string& code) const override;
};

} // namespace millrace::runtime
