#include "api/service/schema_worker.hpp"

#include "api/service/api_state.hpp"
#include "runtime/runtime.hpp"

namespace millrace::api {

namespace {

// Replies (schema, "") or ("", error message for the user). `name` is only
// there because CAF 0.17.6 mishandles actor functions without arguments
// (actors/README.md).
caf::behavior schema_actor(caf::event_based_actor*, const std::string& name) {
  (void)name;
  return {
    [](const std::string& language, const std::string& code) -> caf::message {
      auto* rt = runtime::find_runtime(language);
      if (!rt)
        return caf::make_message(std::string{}, "unsupported language '" + language + "'");
      try {
        auto schema = rt->infer_schema(code);
        while (!schema.empty() && (schema.back() == '\n' || schema.back() == ' '))
          schema.pop_back(); // stored and embedded in answers as is
        return caf::make_message(std::move(schema), std::string{});
      } catch (const std::invalid_argument& e) {
        return caf::make_message(std::string{}, std::string{e.what()});
      } catch (const std::exception& e) {
        return caf::make_message(std::string{}, std::string{"schema inference failed: "} + e.what());
      }
    },
  };
}

} // namespace

void infer_schema(api_ptr self, const std::string& language, const std::string& code,
                  std::function<void(std::string, std::string)> done) {
  auto& st = self->state;
  if (!st.schema_worker)
    st.schema_worker = self->spawn<caf::detached + caf::linked>(schema_actor, std::string{"schema"});
  self->request(st.schema_worker, std::chrono::seconds{60}, language, code)
    .then([done](std::string& schema, std::string& error) { done(std::move(schema), std::move(error)); },
          [done](caf::error& err) { done({}, "schema inference did not finish: " + caf::to_string(err)); });
}

} // namespace millrace::api
