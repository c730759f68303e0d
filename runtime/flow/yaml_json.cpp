// YAML to JSON (a rapidjson document), for OpenFlow definitions written in
// YAML. Scalars follow the YAML 1.2 core schema: a quoted or block scalar is
// a string; a plain one is null (null, Null, NULL, ~, empty), a boolean
// (true/True/TRUE, false/False/FALSE), an integer (123, -4, 0x1F, 0o17), a
// float (1.5, -2e3) or else a string. `.inf` and `.nan` stay strings (JSON
// has no such numbers). Explicit `!!str`, `!!int`, `!!float`, `!!bool` and
// `!!null` tags are honoured; other tags are errors.

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include <yaml-cpp/yaml.h>

#include "runtime/flow/parse_detail.hpp"

namespace millrace::flow::detail {

namespace {

struct conversion_error {
  std::string message;
};

std::string where_text(const YAML::Mark& m) {
  if (m.is_null())
    return "";
  return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1)
         + ": ";
}

const std::string tag_prefix = "tag:yaml.org,2002:";

bool is_null_word(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> bool_word(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE")
    return true;
  if (s == "false" || s == "False" || s == "FALSE")
    return false;
  return std::nullopt;
}

bool all_of(const char* b, const char* e, bool (*pred)(char)) {
  if (b == e)
    return false;
  for (; b != e; ++b)
    if (!pred(*b))
      return false;
  return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_octal(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// Sets `out` to the integer `s` denotes (decimal, 0x hex, 0o octal); a
/// decimal too large for int64 becomes a double.
bool set_int(const std::string& s, rapidjson::Value& out) {
  const char* b = s.c_str();
  const char* e = b + s.size();
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    bool hex = s[1] == 'x';
    if (!all_of(b + 2, e, hex ? is_hex : is_octal))
      return false;
    errno = 0;
    unsigned long long v = std::strtoull(b + 2, nullptr, hex ? 16 : 8);
    if (errno == ERANGE)
      return false;
    out.SetUint64(v);
    return true;
  }
  if (!all_of(b + (b != e && (*b == '-' || *b == '+')), e, is_digit))
    return false;
  errno = 0;
  long long v = std::strtoll(b, nullptr, 10);
  if (errno != ERANGE) {
    out.SetInt64(v);
    return true;
  }
  double d = std::strtod(b, nullptr);
  if (!std::isfinite(d))
    return false;
  out.SetDouble(d);
  return true;
}

/// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool set_float(const std::string& s, rapidjson::Value& out) {
  std::size_t i = 0, n = s.size();
  auto digits = [&] {
    std::size_t start = i;
    while (i < n && is_digit(s[i]))
      ++i;
    return i - start;
  };
  if (i < n && (s[i] == '-' || s[i] == '+'))
    ++i;
  std::size_t mantissa = digits();
  if (i < n && s[i] == '.') {
    ++i;
    std::size_t fraction = digits();
    if (mantissa == 0 && fraction == 0)
      return false;
  } else if (mantissa == 0) {
    return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '-' || s[i] == '+'))
      ++i;
    if (digits() == 0)
      return false;
  }
  if (i != n)
    return false;
  double d = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(d)) // 1e999: JSON has no infinity; stays a string
    return false;
  out.SetDouble(d);
  return true;
}

class converter {
public:
  explicit converter(rapidjson::Document::AllocatorType& alloc) : alloc_(alloc) {}

  void convert(const YAML::Node& n, rapidjson::Value& out, int depth) {
    if (++nodes_ > max_yaml_nodes)
      fail(n, "more than " + std::to_string(max_yaml_nodes)
                + " nodes (after expanding aliases)");
    if (depth > max_json_depth)
      fail(n, "nested deeper than " + std::to_string(max_json_depth)
                + " levels (or an alias refers to its own anchor)");
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out.SetNull();
        return;
      case YAML::NodeType::Scalar:
        scalar(n, out);
        return;
      case YAML::NodeType::Sequence:
        out.SetArray();
        for (const auto& e : n) {
          rapidjson::Value v;
          convert(e, v, depth + 1);
          out.PushBack(v, alloc_);
        }
        return;
      case YAML::NodeType::Map:
        out.SetObject();
        for (const auto& kv : n) {
          if (!kv.first.IsScalar() && !kv.first.IsNull())
            fail(kv.first, "a mapping key must be a scalar");
          auto key = kv.first.IsNull() ? std::string{"null"} : kv.first.Scalar();
          rapidjson::Value k{key.c_str(), static_cast<rapidjson::SizeType>(key.size()), alloc_};
          rapidjson::Value v;
          convert(kv.second, v, depth + 1);
          out.AddMember(k, v, alloc_);
        }
        return;
    }
  }

private:
  [[noreturn]] static void fail(const YAML::Node& n, const std::string& message) {
    throw conversion_error{where_text(n.Mark()) + message};
  }

  void set_string(const std::string& s, rapidjson::Value& out) {
    out.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc_);
  }

  void scalar(const YAML::Node& n, rapidjson::Value& out) {
    const std::string& s = n.Scalar();
    const std::string& tag = n.Tag();
    if (tag == "!" || tag == tag_prefix + "str") { // quoted, block, or !!str
      set_string(s, out);
      return;
    }
    if (tag == "?" || tag.empty()) { // plain: resolve by the core schema
      if (is_null_word(s))
        out.SetNull();
      else if (auto b = bool_word(s))
        out.SetBool(*b);
      else if (!set_int(s, out) && !set_float(s, out))
        set_string(s, out);
      return;
    }
    if (tag == tag_prefix + "null" && is_null_word(s)) {
      out.SetNull();
      return;
    }
    if (tag == tag_prefix + "bool") {
      if (auto b = bool_word(s)) {
        out.SetBool(*b);
        return;
      }
    } else if (tag == tag_prefix + "int") {
      if (set_int(s, out))
        return;
    } else if (tag == tag_prefix + "float") {
      if (set_float(s, out) || set_int(s, out))
        return;
    } else {
      fail(n, "unsupported tag '" + tag + "'");
    }
    fail(n, "'" + s + "' does not match its tag '" + tag + "'");
  }

  rapidjson::Document::AllocatorType& alloc_;
  long nodes_ = 0;
};

} // namespace

std::optional<std::string> yaml_to_json(std::string_view text, rapidjson::Document& out) {
  try {
    YAML::Node root = YAML::Load(std::string{text});
    converter c{out.GetAllocator()};
    c.convert(root, out, 1);
    return std::nullopt;
  } catch (const conversion_error& e) {
    return e.message;
  } catch (const YAML::Exception& e) {
    return where_text(e.mark) + e.msg;
  }
}

} // namespace millrace::flow::detail
