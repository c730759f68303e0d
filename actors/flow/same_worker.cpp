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
                    std::set<std::string> tags,
                    std::function<void(std::string, std::string)> done) {
  auto d = ctx->reg->resolve_as<dispatcher_actor>(paths::dispatcher);
  if (!d)
    return done({}, "the dispatcher is not running");
  self->request(d, std::chrono::seconds{30}, pin_atom_v, std::move(tags))
    .then([done](std::string& node) { done(std::move(node), {}); },
          [done](caf::error& e) { done({}, message_of(e)); });
}

// Every module of the flow that runs as a process on the node (rawscript
// and script, at any depth, the failure module's too). Not the
// preprocessor: it runs before the node is picked, on any node.
template <class F>
void for_each_script_step(const flow::flow_value& v, F visit) {
  flow::for_each_module(v, "", [&](const flow::flow_module& m, const std::string& at, int) {
    bool script = m.type == flow::module_type::rawscript || m.type == flow::module_type::script;
    if (script && at.rfind("preprocessor_module", 0) != 0)
      visit(m);
  });
}

// The stored scripts among those steps that name no tag_override: they
// queue on their language's default tag, known once the script is read
// (once per script, however many steps use it).
std::vector<storage::read_request> untagged_scripts(const run_context& ctx) {
  std::vector<storage::read_request> out;
  std::set<std::string> seen;
  for_each_script_step(ctx.def->value, [&](const flow::flow_module& m) {
    if (m.type != flow::module_type::script || !m.tag.empty())
      return;
    auto r = m.hash.empty() ? storage::read_request{"script_by_path", {ctx.workspace, m.path}}
                            : storage::read_request{"script_by_hash", {ctx.workspace, m.hash}};
    if (seen.insert(r.statement + " " + r.params[1].text).second)
      out.push_back(std::move(r));
  });
  return out;
}

// Adds the tags of scripts[i..] to `tags` (one read each), then asks the
// dispatcher for a node serving them all. A script that is not there adds
// nothing: its step fails by itself, naming it.
void pin_with_script_tags(caf::event_based_actor* self, std::shared_ptr<run_context> ctx,
                          std::shared_ptr<std::vector<storage::read_request>> scripts, size_t i,
                          std::set<std::string> tags,
                          std::function<void(std::string, std::string)> done) {
  if (i == scripts->size())
    return ask_dispatcher(self, std::move(ctx), std::move(tags), std::move(done));
  auto reader = ctx->reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  if (!reader)
    return done({}, "the storage reader is not running");
  auto what = (*scripts)[i].params[1].text;
  self->request(reader, std::chrono::seconds{30}, read_atom_v, (*scripts)[i])
    .then(
      [self, ctx, scripts, i, tags, done](storage::result_set& rs) mutable {
        if (!rs.empty())
          if (auto* lang = runtime::find_language(rs.rows[0][rs.column("language")].text))
            tags.insert(lang->default_tag);
        pin_with_script_tags(self, ctx, scripts, i + 1, std::move(tags), done);
      },
      [done, what](caf::error& e) {
        done({}, "the language of script '" + what + "' was not read: " + describe(e));
      });
}

void pick_node(caf::event_based_actor* self, std::shared_ptr<run_context> ctx,
               std::function<void(std::string, std::string)> done) {
  auto scripts = std::make_shared<std::vector<storage::read_request>>(untagged_scripts(*ctx));
  auto tags = step_tags(ctx->def->value);
  pin_with_script_tags(self, std::move(ctx), std::move(scripts), 0, std::move(tags),
                       std::move(done));
}

} // namespace

bool has_script_steps(const flow::flow_value& v) {
  bool found = false;
  for_each_script_step(v, [&](const flow::flow_module&) { found = true; });
  return found;
}

std::set<std::string> step_tags(const flow::flow_value& v) {
  std::set<std::string> out;
  for_each_script_step(v, [&](const flow::flow_module& m) {
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
    return pick_node(self, std::move(ctx), std::move(done));
  // A resumed attempt keeps the node its steps already run on (and the
  // shared folder there).
  self
    ->request(reader, std::chrono::seconds{30}, read_atom_v,
              storage::read_request{"same_worker_node_of", {ctx->flow_job_id}})
    .then(
      [self, ctx, done](storage::result_set& rs) {
        if (!rs.empty() && !rs.rows[0][0].null)
          return done(rs.rows[0][0].text, {});
        pick_node(self, ctx, done);
      },
      [done](caf::error& e) { done({}, "its earlier node was not read: " + describe(e)); });
}

} // namespace millrace::actors::flow_engine
