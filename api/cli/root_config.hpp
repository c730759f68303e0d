// Translates options into the root tree's configuration.

#pragma once

#include <string>

#include "actors/system/root.hpp"
#include "api/config/options.hpp"

namespace millrace::api {

actors::root_config make_root_config(const options& opts, const std::string& conninfo);

} // namespace millrace::api
