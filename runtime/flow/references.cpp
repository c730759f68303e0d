// Walking a flow's modules, and what the modules refer to: scripts by path
// or hash, sub-flows by path; the sub-flow cycle search (validate.hpp).

#include <unordered_map>
#include <unordered_set>

#include "runtime/flow/validate.hpp"

namespace millrace::flow {

namespace {

using visitor = std::function<void(const flow_module&, const std::string&, int)>;

void walk(const std::vector<flow_module>& modules, const std::string& at, int depth,
          const visitor& visit);

void walk_one(const flow_module& m, const std::string& path, int depth, const visitor& visit) {
  visit(m, path, depth);
  auto vp = path + ".value";
  walk(m.modules, vp + ".modules", depth + 1, visit);
  for (std::size_t i = 0; i < m.branches.size(); ++i)
    walk(m.branches[i].modules, vp + ".branches[" + std::to_string(i) + "].modules",
         depth + 1, visit);
  walk(m.default_modules, vp + ".default", depth + 1, visit);
}

void walk(const std::vector<flow_module>& modules, const std::string& at, int depth,
          const visitor& visit) {
  for (std::size_t i = 0; i < modules.size(); ++i)
    walk_one(modules[i], at + "[" + std::to_string(i) + "]", depth, visit);
}

/// Appends `s` unless already there.
void add_unique(std::vector<std::string>& list, std::unordered_set<std::string>& seen,
                const std::string& s) {
  if (seen.insert(s).second)
    list.push_back(s);
}

/// `exists` asked once per distinct key.
class memo {
public:
  explicit memo(const std::function<bool(const std::string&)>& exists) : exists_(exists) {}
  bool operator()(const std::string& key) {
    auto it = known_.find(key);
    if (it == known_.end())
      it = known_.emplace(key, exists_(key)).first;
    return it->second;
  }

private:
  const std::function<bool(const std::string&)>& exists_;
  std::unordered_map<std::string, bool> known_;
};

std::string hub_hint(const std::string& path) {
  return path.rfind("hub/", 0) == 0 ? " (Millrace has no Hub: deploy the script first)" : "";
}

} // namespace

void for_each_module(const flow_value& value, const std::string& root, const visitor& visit) {
  auto at = [&](const char* key) { return root.empty() ? std::string{key} : root + "." + key; };
  walk(value.modules, at("modules"), 1, visit);
  if (value.failure_module)
    walk_one(*value.failure_module, at("failure_module"), 1, visit);
  if (value.preprocessor_module)
    walk_one(*value.preprocessor_module, at("preprocessor_module"), 1, visit);
}

references collect_references(const open_flow& flow) {
  references out;
  std::unordered_set<std::string> paths, hashes, flows;
  for_each_module(flow.value, "value", [&](const flow_module& m, const std::string&, int) {
    if (m.type == module_type::script) {
      if (!m.hash.empty())
        add_unique(out.script_hashes, hashes, m.hash);
      else if (!m.path.empty())
        add_unique(out.script_paths, paths, m.path);
    } else if (m.type == module_type::flow && !m.path.empty()) {
      add_unique(out.flow_paths, flows, m.path);
    }
  });
  return out;
}

std::vector<flow_error> check_references(
  const open_flow& flow, const std::function<bool(const std::string&)>& script_path_exists,
  const std::function<bool(const std::string&)>& script_hash_exists,
  const std::function<bool(const std::string&)>& flow_path_exists) {
  std::vector<flow_error> errors;
  memo path_ok{script_path_exists}, hash_ok{script_hash_exists}, flow_ok{flow_path_exists};
  for_each_module(flow.value, "value", [&](const flow_module& m, const std::string& p, int) {
    if (m.type == module_type::script) {
      if (!m.hash.empty()) {
        if (!hash_ok(m.hash))
          errors.push_back({m.id, p + ".value.hash",
                            "script hash '" + m.hash + "' does not exist"});
      } else if (!m.path.empty() && !path_ok(m.path)) {
        errors.push_back({m.id, p + ".value.path",
                          "script '" + m.path + "' does not exist" + hub_hint(m.path)});
      }
    } else if (m.type == module_type::flow && !m.path.empty() && !flow_ok(m.path)) {
      errors.push_back({m.id, p + ".value.path", "flow '" + m.path + "' does not exist"});
    }
  });
  return errors;
}

std::optional<std::vector<std::string>> find_cycle(
  const std::string& root_path,
  const std::function<std::vector<std::string>(const std::string&)>& subflows_of) {
  // Depth-first without recursion: `stack` is the chain from the root; a
  // child already on it closes a cycle; `done` holds fully explored flows.
  struct frame {
    std::string path;
    std::vector<std::string> children;
    std::size_t next = 0;
  };
  std::vector<frame> stack;
  std::unordered_set<std::string> on_chain{root_path}, done;
  stack.push_back({root_path, subflows_of(root_path), 0});
  while (!stack.empty()) {
    if (stack.back().next == stack.back().children.size()) {
      on_chain.erase(stack.back().path);
      done.insert(std::move(stack.back().path));
      stack.pop_back();
      continue;
    }
    std::string child = stack.back().children[stack.back().next++];
    if (on_chain.count(child)) {
      std::vector<std::string> chain;
      for (auto& f : stack)
        chain.push_back(f.path);
      chain.push_back(std::move(child));
      return chain;
    }
    if (done.count(child))
      continue;
    on_chain.insert(child);
    auto children = subflows_of(child);
    stack.push_back({std::move(child), std::move(children), 0});
  }
  return std::nullopt;
}

std::string cycle_to_string(const std::vector<std::string>& cycle) {
  std::string out;
  for (auto& p : cycle)
    out += (out.empty() ? "" : " -> ") + p;
  return out;
}

} // namespace millrace::flow
