#include "api/http/router.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <stdexcept>

#include "api/http/uri.hpp"

namespace millrace::api::http {

namespace {

struct node;

/// A route that ends at a node.
struct endpoint {
  std::string method;
  std::size_t route;
};

struct node {
  std::map<std::string, std::unique_ptr<node>, std::less<>> literals;
  std::unique_ptr<node> param; // {name}
  std::vector<endpoint> here;  // routes ending at this node
  std::vector<endpoint> rest;  // routes ending with {name*} after this node
};

struct route_entry {
  route_info info;
  std::vector<std::string> names; // parameter names, in path order
  handler h;
};

bool valid_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

[[noreturn]] void bad_pattern(const std::string& pattern, const std::string& why) {
  throw std::invalid_argument("route pattern \"" + pattern + "\": " + why);
}

/// Search state while walking the tree.
struct walk {
  std::string_view method;
  const std::vector<std::string>& segs;
  std::vector<std::string> values; // captured so far
  std::vector<std::string> allow;  // methods of path-only matches
  std::optional<api_error> bad;    // first parameter problem seen
  const endpoint* found = nullptr;

  const endpoint* pick(const std::vector<endpoint>& eps) {
    for (auto& e : eps)
      if (e.method == method)
        return &e;
    for (auto& e : eps)
      allow.push_back(e.method);
    return nullptr;
  }

  /// The rest of the path from segment i, or nullopt (and `bad`) if empty segments.
  std::optional<std::string> rest_from(std::size_t i) {
    std::string out;
    for (std::size_t k = i; k < segs.size(); ++k) {
      if (segs[k].empty()) {
        if (!bad)
          bad = make_error(errc::invalid_path, "empty segment in a path parameter");
        return std::nullopt;
      }
      if (k > i)
        out += '/';
      out += segs[k];
    }
    return out;
  }

  bool run(const node& n, std::size_t i) {
    if (i == segs.size()) {
      found = pick(n.here);
      return found != nullptr;
    }
    const auto& seg = segs[i];
    if (auto it = n.literals.find(seg); it != n.literals.end() && run(*it->second, i + 1))
      return true;
    if (n.param && !seg.empty()) {
      if (seg.find('/') != std::string::npos) {
        if (!bad)
          bad = make_error(errc::invalid_path, "encoded '/' inside a path parameter");
      } else {
        values.push_back(seg);
        if (run(*n.param, i + 1))
          return true;
        values.pop_back();
      }
    }
    if (!n.rest.empty()) {
      if (auto value = rest_from(i)) {
        if ((found = pick(n.rest))) {
          values.push_back(std::move(*value));
          return true;
        }
      }
    }
    return false;
  }
};

} // namespace

struct router::impl {
  node root;
  std::vector<route_entry> routes;
};

router::router() : impl_(std::make_unique<impl>()) {
  // nop
}

router::~router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;

void router::add(std::string method, std::string pattern, handler h) {
  if (method.empty())
    throw std::invalid_argument("route method is empty");
  if (!h)
    throw std::invalid_argument("route " + method + " " + pattern + " has no handler");
  if (pattern.empty() || pattern.front() != '/')
    bad_pattern(pattern, "must start with '/'");
  std::vector<std::string> parts;
  for (std::size_t pos = 1; pos <= pattern.size();) {
    auto end = pattern.find('/', pos);
    if (end == std::string::npos)
      end = pattern.size();
    parts.emplace_back(pattern.substr(pos, end - pos));
    pos = end + 1;
  }
  route_entry entry{{method, pattern}, {}, std::move(h)};
  node* n = &impl_->root;
  std::vector<endpoint>* list = nullptr;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const auto& part = parts[k];
    bool last = k + 1 == parts.size();
    if (part.empty() && !last)
      bad_pattern(pattern, "empty segment");
    if (!part.empty() && part.front() == '{') {
      if (part.back() != '}')
        bad_pattern(pattern, "unclosed '{'");
      auto name = part.substr(1, part.size() - 2);
      bool rest = !name.empty() && name.back() == '*';
      if (rest)
        name.pop_back();
      if (!valid_name(name))
        bad_pattern(pattern, "bad parameter name \"" + name + "\"");
      if (std::find(entry.names.begin(), entry.names.end(), name) != entry.names.end())
        bad_pattern(pattern, "parameter \"" + name + "\" repeated");
      entry.names.push_back(name);
      if (rest) {
        if (!last)
          bad_pattern(pattern, "{" + name + "*} must be the last segment");
        list = &n->rest;
        break;
      }
      if (!n->param)
        n->param = std::make_unique<node>();
      n = n->param.get();
    } else {
      if (part.find_first_of("{}%") != std::string::npos)
        bad_pattern(pattern, "literal segment with '{', '}' or '%'");
      auto& child = n->literals[part];
      if (!child)
        child = std::make_unique<node>();
      n = child.get();
    }
  }
  if (!list)
    list = &n->here;
  for (auto& e : *list)
    if (e.method == method)
      throw std::invalid_argument("route " + method + " " + pattern + " duplicates "
                                  + impl_->routes[e.route].info.pattern);
  list->push_back(endpoint{method, impl_->routes.size()});
  impl_->routes.push_back(std::move(entry));
}

router::result router::match(std::string_view method,
                             const std::vector<std::string>& segments) const {
  result r;
  walk w{method, segments, {}, {}, std::nullopt, nullptr};
  if (w.run(impl_->root, 0)) {
    auto& entry = impl_->routes[w.found->route];
    r.kind = outcome::matched;
    r.target = &entry.h;
    r.route = w.found->route;
    r.match.pattern = entry.info.pattern;
    for (std::size_t k = 0; k < entry.names.size() && k < w.values.size(); ++k)
      r.match.params.emplace(entry.names[k], std::move(w.values[k]));
    return r;
  }
  if (!w.allow.empty()) {
    std::sort(w.allow.begin(), w.allow.end());
    w.allow.erase(std::unique(w.allow.begin(), w.allow.end()), w.allow.end());
    for (auto& m : w.allow)
      r.allow += (r.allow.empty() ? "" : ", ") + m;
    r.kind = outcome::method_not_allowed;
    r.error = make_error(errc::method_not_allowed,
                         "method not allowed here; allowed: " + r.allow);
    return r;
  }
  if (w.bad) {
    r.kind = outcome::bad_path;
    r.error = std::move(*w.bad);
    return r;
  }
  r.kind = outcome::not_found;
  r.error = make_error(errc::not_found, "no such route");
  return r;
}

router::result router::match_target(std::string_view method, std::string_view target) const {
  decoded_target t;
  if (auto e = decode_target(target, t)) {
    result r;
    r.kind = outcome::bad_path;
    r.error = std::move(*e);
    return r;
  }
  return match(method, t.segments);
}

std::vector<route_info> router::routes() const {
  std::vector<route_info> out;
  out.reserve(impl_->routes.size());
  for (auto& e : impl_->routes)
    out.push_back(e.info);
  return out;
}

std::size_t router::size() const noexcept {
  return impl_->routes.size();
}

} // namespace millrace::api::http
