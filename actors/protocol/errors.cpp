#include "actors/protocol/errors.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/message.hpp"
#include "caf/sec.hpp"

namespace millrace::actors {

std::string to_string(supervision_errc x) {
  switch (x) {
    case supervision_errc::none: return "none";
    case supervision_errc::restart_intensity_exceeded: return "restart_intensity_exceeded";
    case supervision_errc::child_start_failed: return "child_start_failed";
  }
  return "supervision_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(dispatch_errc x) {
  switch (x) {
    case dispatch_errc::none: return "none";
    case dispatch_errc::invalid_job: return "invalid_job";
    case dispatch_errc::not_found: return "not_found";
    case dispatch_errc::already_finished: return "already_finished";
    case dispatch_errc::overloaded: return "overloaded";
    case dispatch_errc::shutting_down: return "shutting_down";
    case dispatch_errc::idempotency_conflict: return "idempotency_conflict";
    case dispatch_errc::id_taken: return "id_taken";
    case dispatch_errc::no_node: return "no_node";
  }
  return "dispatch_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(cluster_errc x) {
  switch (x) {
    case cluster_errc::none: return "none";
    case cluster_errc::wrong_secret: return "wrong_secret";
    case cluster_errc::incompatible_version: return "incompatible_version";
    case cluster_errc::name_taken: return "name_taken";
    case cluster_errc::unavailable: return "unavailable";
    case cluster_errc::invalid_node: return "invalid_node";
  }
  return "cluster_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

void add_error_categories(caf::actor_system_config& cfg) {
  // The add_error_category<T> shortcut of CAF 0.17.6 does not compile (its
  // lambda lacks the atom_value argument), so the renderers are spelled out.
  cfg.add_error_category(caf::atom("storage"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return describe(caf::error{code, caf::atom("storage"), ctx});
                         });
  cfg.add_error_category(caf::atom("dispatch"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return describe(caf::error{code, caf::atom("dispatch"), ctx});
                         });
  cfg.add_error_category(caf::atom("cluster"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return describe(caf::error{code, caf::atom("cluster"), ctx});
                         });
  cfg.add_error_category(caf::atom("supervise"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return describe(caf::error{code, caf::atom("supervise"), ctx});
                         });
}

std::string message_of(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  std::string out;
  auto cat = err.category();
  if (cat == caf::atom("storage"))
    out = "storage: " + storage::to_string(static_cast<storage::storage_errc>(err.code()));
  else if (cat == caf::atom("dispatch"))
    out = "dispatch: " + to_string(static_cast<dispatch_errc>(err.code()));
  else if (cat == caf::atom("cluster"))
    out = "cluster: " + to_string(static_cast<cluster_errc>(err.code()));
  else if (cat == caf::atom("supervise"))
    out = "supervision: " + to_string(static_cast<supervision_errc>(err.code()));
  else if (cat == caf::atom("system"))
    out = "system: " + caf::to_string(static_cast<caf::sec>(err.code()));
  else if (cat == caf::atom("exit"))
    out = "exit: " + caf::to_string(static_cast<caf::exit_reason>(err.code()));
  else
    out = caf::to_string(err);
  auto& ctx = err.context();
  if (!ctx.empty()) {
    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
      out += " (" + ctx.get_as<std::string>(0) + ")";
    else
      out += " " + caf::to_string(ctx);
  }
  return out;
}

} // namespace millrace::actors
