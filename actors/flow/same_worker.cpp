#include "actors/flow/detail/same_worker.hpp"

#include "caf/all.hpp"

#include "actors/flow/detail/context.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/registry.hpp"
#include "runtime/flow/validate.hpp"
#include "runtime/languages.hpp"

namespace millrace::actors::flow_engine {

namespace {

void ask_dispatcher(caf::event_based_actor* self, std::shared_ptr<run_context> ctx,
                    std::function<void(std::string, std::string)> done) {
  auto d = ctx->reg->resolve_as<dispatcher_actor>(paths::dispatcher);
  if (!d)
    return done({}, "the dispatcher is not running");
  self->request(d, std::chrono::seconds{30}, pin_atom_v, step_tags(ctx->def->value))
    .then([done](std::string& node) { done(std::move(node), {}); },
          [done](caf::error& e) { done({}, message_of(e)); });
}

} // namespace

bool has_script_steps(const flow::flow_value& v) {
  bool found = false;
  flow::for_each_module(v, "", [&](const flow::flow_module& m, const std::string&, int) {
    found = found || m.type == flow::module_type::rawscript || m.type == flow::module_type::script;
  });
  return found;
}

std::set<std::string> step_tags(const flow::flow_value& v) {
  std::set<std::string> out;
  flow::for_each_module(v, "", [&](const flow::flow_module& m, const std::string&, int) {
    if (m.type != flow::module_type::rawscript && m.type != flow::module_type::script)
      return;
    if (!m.tag.empty()) // a rawscript's tag, a script's tag_override
      out.insert(m.tag);
    else if (auto* lang = runtime::find_language(m.language)) // inline scripts only
      out.insert(lang->default_tag);
  });
  return out;
}

void find_worker_node(caf::event_based_actor* self, std::shared_ptr<run_context> ctx,
                      std::function<void(std::string, std::string)> done) {
  auto reader = ctx->reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  if (ctx->attempt <= 1 || !reader)
    return ask_dispatcher(self, std::move(ctx), std::move(done));
  // A resumed attempt keeps the node its steps already run on (and the
  // shared folder there).
  self
    ->request(reader, std::chrono::seconds{30}, read_atom_v,
              storage::read_request{"same_worker_node_of", {ctx->flow_job_id}})
    .then(
      [self, ctx, done](storage::result_set& rs) {
        if (!rs.empty() && !rs.rows[0][0].null)
          return done(rs.rows[0][0].text, {});
        ask_dispatcher(self, ctx, done);
      },
      [done](caf::error& e) { done({}, "its earlier node was not read: " + describe(e)); });
}

} // namespace millrace::actors::flow_engine
