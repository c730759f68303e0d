// The native fast path: plain property paths (`flow_input.x`,
// `results.a.b[0]`, `results["my-step"]`) resolved straight from the scope
// JSON, with the result and the errors JavaScript would give. Whatever this
// cannot answer exactly as JavaScript would goes to node (std::nullopt).

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "runtime/expr/evaluator.hpp"

namespace millrace::expr {

namespace {

struct segment {
  std::string key;
  bool from_brackets = false;
};

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

bool ident_part(char c) {
  return ident_start(c) || (c >= '0' && c <= '9');
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Words a plain path cannot start with: the parse would mean something else
// (keywords, literals) or the name is a global that a scope key cannot
// shadow (undefined, NaN, Infinity are read-only) or that is not data.
bool reserved_root(std::string_view s) {
  static const char* const words[] = {
    "await", "break", "case", "catch", "class", "const", "continue", "debugger", "default",
    "delete", "do", "else", "enum", "export", "extends", "false", "finally", "for", "function",
    "if", "implements", "import", "in", "instanceof", "interface", "let", "new", "null",
    "package", "private", "protected", "public", "return", "static", "super", "switch", "this",
    "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield", "async", "of",
    "undefined", "NaN", "Infinity", "globalThis", "eval", "arguments",
    "__millrace_scope", "__millrace_out", "__proto__"};
  return std::any_of(std::begin(words), std::end(words), [&](const char* w) { return s == w; });
}

// Standard globals: an unknown root with one of these names is not a
// ReferenceError in JavaScript, so node answers it.
bool builtin_global(std::string_view s) {
  static const char* const names[] = {
    "Object", "Function", "Array", "Number", "parseFloat", "parseInt", "Boolean", "String",
    "Symbol", "Date", "Promise", "RegExp", "Error", "AggregateError", "EvalError", "RangeError",
    "ReferenceError", "SyntaxError", "TypeError", "URIError", "JSON", "Math", "Intl",
    "ArrayBuffer", "Atomics", "Uint8Array", "Int8Array", "Uint16Array", "Int16Array",
    "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray",
    "BigUint64Array", "BigInt64Array", "DataView", "Map", "BigInt", "Set", "WeakMap", "WeakSet",
    "Proxy", "Reflect", "FinalizationRegistry", "WeakRef", "decodeURI", "decodeURIComponent",
    "encodeURI", "encodeURIComponent", "escape", "unescape", "isFinite", "isNaN",
    "SharedArrayBuffer", "WebAssembly", "Iterator"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return s == n; });
}

// Properties every plain object inherits from Object.prototype.
bool object_prototype_key(std::string_view s) {
  static const char* const names[] = {
    "constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString",
    "toString", "valueOf", "__proto__", "__defineGetter__", "__defineSetter__",
    "__lookupGetter__", "__lookupSetter__"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return s == n; });
}

// "0", "17": the canonical form of an array index (no sign, no leading zero),
// short enough not to reach the 2^32 - 1 limit.
bool array_index(std::string_view s, size_t& index) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0'))
    return false;
  index = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return true;
}

// Parses `ident ( .ident | [int] | ["str"] | ['str'] )*` with whitespace only
// around the whole. False for anything else.
bool parse_path(std::string_view text, std::string& root, std::vector<segment>& path) {
  size_t i = 0, n = text.size();
  while (i < n && is_space(text[i]))
    ++i;
  while (n > i && is_space(text[n - 1]))
    --n;
  auto identifier = [&](std::string& out) {
    if (i >= n || !ident_start(text[i]))
      return false;
    size_t start = i;
    while (i < n && ident_part(text[i]))
      ++i;
    out.assign(text.substr(start, i - start));
    return true;
  };
  if (!identifier(root))
    return false;
  while (i < n) {
    segment seg;
    if (text[i] == '.') {
      ++i;
      if (!identifier(seg.key))
        return false;
    } else if (text[i] == '[') {
      ++i;
      seg.from_brackets = true;
      if (i < n && (text[i] == '"' || text[i] == '\'')) {
        char quote = text[i++];
        size_t start = i;
        while (i < n && text[i] != quote) {
          // Escapes and line breaks: node knows the exact rules.
          if (text[i] == '\\' || text[i] == '\n' || text[i] == '\r')
            return false;
          ++i;
        }
        if (i >= n)
          return false;
        seg.key.assign(text.substr(start, i - start));
        ++i;
      } else {
        size_t start = i;
        while (i < n && text[i] >= '0' && text[i] <= '9')
          ++i;
        size_t index = 0;
        seg.key.assign(text.substr(start, i - start));
        if (!array_index(seg.key, index))
          return false;
      }
      if (i >= n || text[i] != ']')
        return false;
      ++i;
    } else {
      return false;
    }
    path.push_back(std::move(seg));
  }
  return true;
}

// The member JSON.parse keeps: the last of duplicate keys.
const rapidjson::Value* find_last(const rapidjson::Value& object, const std::string& key) {
  const rapidjson::Value* found = nullptr;
  for (auto m = object.MemberBegin(); m != object.MemberEnd(); ++m)
    if (m->name.GetStringLength() == key.size() &&
        std::memcmp(m->name.GetString(), key.data(), key.size()) == 0)
      found = &m->value;
  return found;
}

std::string quote_js(const std::string& key) {
  return "'" + key + "'";
}

outcome failure(const std::string& message, const std::string& expr) {
  return outcome{false, {}, format_error(message, expr)};
}

} // namespace

std::optional<outcome> evaluator::fast_path(const std::string& expr,
                                            const std::string& scope_json) {
  std::string root;
  std::vector<segment> path;
  if (!parse_path(expr, root, path) || reserved_root(root))
    return std::nullopt;

  rapidjson::Document scope;
  if (scope_json.find_first_not_of(" \t\r\n") == std::string::npos)
    scope.SetObject();
  else
    scope.Parse(scope_json.c_str(), scope_json.size());
  if (scope.HasParseError() || !scope.IsObject())
    return std::nullopt; // evaluate() reports a bad scope; node gets no say

  const rapidjson::Value* top = find_last(scope, root);
  if (top == nullptr) {
    if (builtin_global(root) || object_prototype_key(root))
      return std::nullopt;
    return failure("ReferenceError: " + root + " is not defined", expr);
  }

  const rapidjson::Value* v = top; // nullptr: undefined
  for (const auto& seg : path) {
    if (v == nullptr || v->IsNull())
      return failure(std::string("TypeError: Cannot read properties of ") +
                       (v == nullptr ? "undefined" : "null") + " (reading " + quote_js(seg.key) +
                       ")",
                     expr);
    if (v->IsObject()) {
      if (seg.key == "__proto__")
        return std::nullopt;
      if (const rapidjson::Value* m = find_last(*v, seg.key))
        v = m;
      else if (object_prototype_key(seg.key))
        return std::nullopt;
      else
        v = nullptr;
    } else if (v->IsArray()) {
      size_t index = 0;
      if (seg.key == "length") {
        // A number, not a node of the document: answered right here when last.
        if (&seg != &path.back())
          return std::nullopt;
        return outcome{true, std::to_string(v->Size()), {}};
      }
      if (!array_index(seg.key, index))
        return std::nullopt; // Array.prototype members and odd keys
      v = index < v->Size() ? &(*v)[static_cast<rapidjson::SizeType>(index)] : nullptr;
    } else {
      // Strings (UTF-16 indexing, methods), numbers, booleans: node.
      return std::nullopt;
    }
  }
  if (v == nullptr)
    return outcome{true, "null", {}};
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  v->Accept(writer);
  return outcome{true, std::string(buf.GetString(), buf.GetSize()), {}};
}

} // namespace millrace::expr
