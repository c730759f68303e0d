// same_worker flows (OpenFlow `same_worker: true`): every script step of the
// run goes to one worker node and sees the run's shared folder there as
// ./shared. Internal to actors/flow/; the dispatcher's side is
// actors/dispatcher/pinning.cpp.

#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "caf/fwd.hpp"

#include "runtime/flow/model.hpp"

namespace millrace::actors::flow_engine {

struct run_context;

/// The tags the flow's script steps (rawscript and script modules, at any
/// depth, the failure module too; not the preprocessor, which runs before
/// the pick and on any node) queue on: their `tag`, else an inline
/// script's language's default tag. A stored script without `tag_override`
/// is not counted here: find_worker_node reads its language and adds that
/// language's default tag.
std::set<std::string> step_tags(const flow::flow_value& v);

/// Whether the flow has a step that runs as a process (rawscript, script),
/// the preprocessor not counted.
bool has_script_steps(const flow::flow_value& v);

/// The node for this run: the one an earlier attempt pinned its steps to (its
/// step jobs carry it), else a new pick by the dispatcher of a node serving
/// every step's tag (stored scripts' read from their language). `done(node, error)`
/// runs on `self`'s thread; exactly one of them is empty.
void find_worker_node(caf::event_based_actor* self, std::shared_ptr<run_context> ctx,
                      std::function<void(std::string, std::string)> done);

} // namespace millrace::actors::flow_engine
