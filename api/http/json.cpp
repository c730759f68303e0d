#include "api/http/json.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include "api/http/utf8.hpp"

namespace millrace::api::http {

namespace {

constexpr unsigned parse_flags = rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag
                                 | rapidjson::kParseNumbersAsStringsFlag;

/// SAX filter in front of rapidjson::Document: adds the checks RapidJSON
/// does not make (duplicate keys, depth, root type, non-finite numbers,
/// surrogates that \u escapes let through, "\u0000").
class strict_handler {
public:
  strict_handler(rapidjson::Document& doc, rapidjson::InsituStringStream& in,
                 const char* base, std::size_t max_depth, bool object_only)
    : doc_(doc), in_(in), base_(base), max_depth_(max_depth), object_only_(object_only) {
    // nop
  }

  bool failed() const noexcept {
    return !problem_.empty();
  }
  const std::string& problem() const noexcept {
    return problem_;
  }
  std::size_t offset() const noexcept {
    return offset_;
  }
  bool Null() {
    return value() && doc_.Null();
  }
  bool Bool(bool b) {
    return value() && doc_.Bool(b);
  }
  bool Int(int i) {
    return value() && doc_.Int(i);
  }
  bool Uint(unsigned i) {
    return value() && doc_.Uint(i);
  }
  bool Int64(int64_t i) {
    return value() && doc_.Int64(i);
  }
  bool Uint64(uint64_t i) {
    return value() && doc_.Uint64(i);
  }
  bool Double(double d) {
    if (!std::isfinite(d))
      return fail(in_.Tell(), "number out of range for a double");
    return value() && doc_.Double(d);
  }
  /// Numbers arrive as text (kParseNumbersAsStringsFlag) and are converted
  /// here: RapidJSON's own full-precision conversion turns 9e308 into a tiny
  /// negative number instead of reporting an overflow.
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    if (!value())
      return false;
    char buf[64];
    std::string big;
    const char* z = str;
    if (len < sizeof(buf)) {
      std::memcpy(buf, str, len);
      buf[len] = '\0';
      z = buf;
    } else {
      big.assign(str, len);
      z = big.c_str();
    }
    bool integral = std::strpbrk(z, ".eE") == nullptr;
    if (integral) {
      errno = 0;
      char* end = nullptr;
      if (z[0] == '-') {
        long long i = std::strtoll(z, &end, 10);
        if (errno == 0 && *end == '\0')
          return doc_.Int64(static_cast<int64_t>(i));
      } else {
        unsigned long long u = std::strtoull(z, &end, 10);
        if (errno == 0 && *end == '\0')
          return doc_.Uint64(static_cast<uint64_t>(u));
      }
    }
    errno = 0;
    char* end = nullptr;
    double d = std::strtod(z, &end);
    if (*end != '\0' || !std::isfinite(d) || (errno == ERANGE && std::fabs(d) > 1.0))
      return fail(static_cast<std::size_t>(str - base_), "number out of range for a double");
    return doc_.Double(d); // an underflow is 0 (or a subnormal), as in JavaScript
  }
  bool String(const char* str, rapidjson::SizeType len, bool copy) {
    return value() && text(str, len) && doc_.String(str, len, copy);
  }
  bool StartObject() {
    if (!open())
      return false;
    if (depth_ > keys_.size())
      keys_.resize(depth_);
    keys_[depth_ - 1].clear();
    return doc_.StartObject();
  }
  bool Key(const char* str, rapidjson::SizeType len, bool copy) {
    if (!text(str, len))
      return false;
    keys_[depth_ - 1].push_back(std::string_view{str, len});
    return doc_.Key(str, len, copy);
  }
  bool EndObject(rapidjson::SizeType count) {
    if (!unique_keys(keys_[depth_ - 1]))
      return false;
    --depth_;
    return doc_.EndObject(count);
  }
  bool StartArray() {
    return open() && doc_.StartArray();
  }
  bool EndArray(rapidjson::SizeType count) {
    --depth_;
    return doc_.EndArray(count);
  }

private:
  bool fail(std::size_t at, std::string why) {
    if (problem_.empty()) {
      problem_ = std::move(why);
      offset_ = at;
    }
    return false;
  }

  bool value() {
    if (depth_ == 0 && object_only_)
      return fail(0, "top-level value must be an object");
    return true;
  }

  bool open() {
    // Tell() is just past the '{' or '['.
    if (++depth_ > max_depth_)
      return fail(in_.Tell() - 1, "nesting deeper than " + std::to_string(max_depth_));
    return true;
  }

  /// Decoded strings point into the in-situ buffer, so offsets are exact.
  bool text(const char* str, rapidjson::SizeType len) {
    std::string_view s{str, len};
    auto at = static_cast<std::size_t>(str - base_);
    if (auto bad = utf8_error_offset(s); bad != s.size())
      return fail(at, "string is not valid UTF-8 (lone surrogate or bad bytes)");
    if (std::memchr(str, 0, len) != nullptr)
      return fail(at, "\\u0000 in a string is not allowed");
    return true;
  }

  bool unique_keys(std::vector<std::string_view>& keys) {
    if (keys.size() < 2)
      return true;
    if (keys.size() <= 8) {
      for (std::size_t i = 1; i < keys.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (keys[i] == keys[j])
            return duplicate(keys[i]);
      return true;
    }
    // Sorting keeps the worst case at n log n, whatever the keys are.
    std::stable_sort(keys.begin(), keys.end());
    for (std::size_t i = 1; i < keys.size(); ++i)
      if (keys[i] == keys[i - 1])
        return duplicate(keys[i]);
    return true;
  }

  bool duplicate(std::string_view key) {
    auto shown = key.size() > 64 ? std::string{key.substr(0, 64)} + "..." : std::string{key};
    return fail(static_cast<std::size_t>(key.data() - base_), "duplicate key \"" + shown + "\"");
  }

  rapidjson::Document& doc_;
  rapidjson::InsituStringStream& in_;
  const char* base_;
  std::size_t max_depth_;
  bool object_only_;
  std::size_t depth_ = 0;
  std::vector<std::vector<std::string_view>> keys_; // per open object, reused
  std::string problem_;
  std::size_t offset_ = 0;
};

std::string describe(rapidjson::ParseErrorCode code, std::string_view text, std::size_t at) {
  using namespace rapidjson;
  char c = at < text.size() ? text[at] : '\0';
  if (at >= text.size() && code != kParseErrorDocumentEmpty)
    return "unexpected end of input (truncated body)";
  bool syntax = code == kParseErrorValueInvalid || code == kParseErrorObjectMissName
                || code == kParseErrorObjectMissColon
                || code == kParseErrorObjectMissCommaOrCurlyBracket
                || code == kParseErrorArrayMissCommaOrSquareBracket
                || code == kParseErrorDocumentRootNotSingular;
  if (syntax && c == '/')
    return "comments are not allowed";
  if (syntax && c == '\'')
    return "single quotes are not allowed";
  switch (code) {
    case kParseErrorDocumentEmpty:
      return "empty body; expected a JSON object";
    case kParseErrorDocumentRootNotSingular:
      return "unexpected characters after the JSON value";
    case kParseErrorValueInvalid:
      if (c == 'N' || c == 'I' || c == '-')
        return "NaN and Infinity are not allowed";
      if (c == ']')
        return "trailing comma in array";
      return "invalid value";
    case kParseErrorObjectMissName:
      if (c == '}')
        return "trailing comma in object";
      return "expected a key in double quotes";
    case kParseErrorNumberTooBig:
      return "number out of range for a double";
    case kParseErrorStringUnicodeSurrogateInvalid:
      return "lone or invalid UTF-16 surrogate in a \\u escape";
    case kParseErrorStringEscapeInvalid:
      if (static_cast<unsigned char>(c) < 0x20)
        return "raw control character in a string (escape it)";
      return "invalid escape in a string";
    case kParseErrorStringInvalidEncoding:
      return "invalid UTF-8";
    default:
      return GetParseError_En(code);
  }
}

api_error bad_json(std::size_t at, const std::string& why) {
  return make_error(errc::bad_json, "invalid JSON at byte " + std::to_string(at) + ": " + why);
}

} // namespace

result<json_body> parse_json_object(std::string_view text, const json_limits& limits) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF")
    return bad_json(0, "byte order mark (BOM) is not allowed");
  if (auto* nul = static_cast<const char*>(std::memchr(text.data(), 0, text.size())))
    return bad_json(static_cast<std::size_t>(nul - text.data()), "NUL byte");
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    return bad_json(text.size(),
                    limits.object_only ? "empty body; expected a JSON object" : "empty body");

  json_body out;
  out.text_ = std::make_unique<char[]>(text.size() + 1);
  std::memcpy(out.text_.get(), text.data(), text.size());
  out.text_[text.size()] = '\0';
  out.doc_ = std::make_unique<rapidjson::Document>();

  if (limits.object_only && text[first] != '{')
    return bad_json(first, "top-level value must be an object");
  rapidjson::InsituStringStream in{out.text_.get()};
  strict_handler h{*out.doc_, in, out.text_.get(), limits.max_depth, limits.object_only};
  rapidjson::Reader reader;
  bool ok = false;
  // Document::Populate runs the reader with `h` in front of the document.
  struct populate {
    rapidjson::Reader& reader;
    rapidjson::InsituStringStream& in;
    strict_handler& h;
    bool& ok;
    bool operator()(rapidjson::Document&) {
      ok = !reader.Parse<parse_flags>(in, h).IsError();
      return ok;
    }
  } gen{reader, in, h, ok};
  out.doc_->Populate(gen);
  if (h.failed())
    return bad_json(h.offset(), h.problem());
  if (!ok)
    return bad_json(reader.GetErrorOffset(),
                    describe(reader.GetParseErrorCode(), text, reader.GetErrorOffset()));
  return result<json_body>{std::move(out)};
}

} // namespace millrace::api::http
