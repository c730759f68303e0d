// A flow run actor: one attempt of one flow job (actors/flow/flow_run.cpp).

#pragma once

#include <memory>
#include <string>

#include "caf/fwd.hpp"

#include "actors/protocol/types/job.hpp"

namespace millrace::expr {
class evaluator;
} // namespace millrace::expr

namespace millrace::actors {

class registry;

/// Spawned by a flow slot once the attempt's claim is committed. Reports the
/// outcome to the dispatcher itself, then quits normally. Understands
/// `cancel_atom` (cancel the flow: stop its steps, record it canceled) and
/// `abort_atom` (the attempt lost the job: stop, leave the step jobs).
caf::actor spawn_flow_run(caf::local_actor* slot, job_assignment a, std::shared_ptr<registry> reg,
                          std::shared_ptr<expr::evaluator> eval, std::string path);

/// "/a/b/c" -> "/a/b".
std::string parent_path(const std::string& path);

} // namespace millrace::actors
