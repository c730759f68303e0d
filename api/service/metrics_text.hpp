// The dispatcher's and the storage writer's statistics in Prometheus text
// format (exposition format 0.0.4).

#pragma once

#include <string>

#include "actors/protocol/dispatcher_stats.hpp"
#include "storage/writer_stats.hpp"

namespace millrace::api {

std::string dispatcher_metrics(const actors::dispatcher_stats& s);
std::string writer_metrics(const storage::writer_stats& w);

} // namespace millrace::api
