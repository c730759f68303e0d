// Validation of a launch plan before anything is spawned, so that a bad plan
// is a clear error from start() and never a confusing bwrap failure later.

#pragma once

#include <string>

#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

/// Most files one plan may place (each costs a descriptor while bwrap starts).
constexpr size_t max_job_files = 512;

/// Returns why `plan` cannot run, or an empty string.
std::string check_plan(const launch_plan& plan);

/// True for "/job/x" style paths: absolute, under /job, no "", "." or ".."
/// components. /job itself and /job/tmp (the sandbox's /tmp) are refused.
bool valid_job_path(const std::string& path);

} // namespace millrace::sandbox::detail
