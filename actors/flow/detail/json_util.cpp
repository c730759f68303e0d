#include "actors/flow/detail/json_util.hpp"

#include <cstdint>

#include "actors/flow/detail/context.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace millrace::actors::flow_engine {

namespace {

bool parse(const std::string& json, rapidjson::Document& doc) {
  doc.Parse(json.data(), json.size());
  return !doc.HasParseError();
}

std::string to_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

} // namespace

bool truthy(const std::string& json) {
  rapidjson::Document doc;
  if (!parse(json, doc))
    return false;
  if (doc.IsNull())
    return false;
  if (doc.IsBool())
    return doc.GetBool();
  if (doc.IsNumber())
    return doc.GetDouble() != 0.0;
  if (doc.IsString())
    return doc.GetStringLength() > 0;
  return true; // objects and arrays, even empty ones
}

std::optional<std::vector<std::string>> array_elements(const std::string& json) {
  rapidjson::Document doc;
  if (!parse(json, doc) || !doc.IsArray())
    return std::nullopt;
  std::vector<std::string> out;
  out.reserve(doc.Size());
  for (auto& e : doc.GetArray())
    out.push_back(to_text(e));
  return out;
}

std::optional<double> number_of(const std::string& json) {
  rapidjson::Document doc;
  if (!parse(json, doc) || !doc.IsNumber())
    return std::nullopt;
  return doc.GetDouble();
}

std::string string_of(const std::string& json) {
  rapidjson::Document doc;
  if (!parse(json, doc) || !doc.IsString())
    return {};
  return {doc.GetString(), doc.GetStringLength()};
}

std::string object_with(const std::string& base,
                        const std::vector<std::pair<std::string, std::string>>& members) {
  rapidjson::Document doc;
  if (!parse(base, doc) || !doc.IsObject())
    doc.SetObject();
  auto& alloc = doc.GetAllocator();
  for (auto& [k, v] : members) {
    rapidjson::Document val{&alloc};
    if (!parse(v, val))
      val.SetNull();
    rapidjson::Value copy{val, alloc};
    auto it = doc.FindMember(k);
    if (it != doc.MemberEnd())
      it->value = copy;
    else
      doc.AddMember(rapidjson::Value{k, alloc}, copy, alloc);
  }
  return to_text(doc);
}

std::string array_of(const std::vector<std::string>& elements) {
  std::string out = "[";
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i > 0)
      out += ',';
    out += elements[i];
  }
  out += ']';
  return out;
}

std::string quote(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {buf.GetString(), buf.GetSize()};
}

bool is_object(const std::string& json) {
  rapidjson::Document doc;
  return parse(json, doc) && doc.IsObject();
}

std::optional<std::string> member(const std::string& json, const std::string& key) {
  rapidjson::Document doc;
  if (!parse(json, doc) || !doc.IsObject())
    return std::nullopt;
  auto it = doc.FindMember(key);
  if (it == doc.MemberEnd())
    return std::nullopt;
  return to_text(it->value);
}

namespace {

uint64_t fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

} // namespace

std::string step_job_id(const std::string& flow_job_id, const std::string& key) {
  auto h1 = fnv1a(key, fnv1a(flow_job_id, 14695981039346656037ull));
  auto h2 = fnv1a(flow_job_id, fnv1a(key, 0x9e3779b97f4a7c15ull));
  const char* hex = "0123456789abcdef";
  std::string prefix;
  for (char ch : flow_job_id)
    if (ch != '-' && prefix.size() < 12)
      prefix += ch;
  while (prefix.size() < 12)
    prefix += '0';
  std::string out = prefix.substr(0, 8) + "-" + prefix.substr(8, 4) + "-8";
  for (int i = 0; i < 3; ++i)
    out += hex[(h1 >> (4 * i)) & 0xf];
  out += '-';
  out += hex[8 | ((h1 >> 12) & 0x3)];
  for (int i = 0; i < 3; ++i)
    out += hex[(h1 >> (16 + 4 * i)) & 0xf];
  out += '-';
  for (int i = 0; i < 12; ++i)
    out += hex[(h2 >> (4 * i)) & 0xf];
  return out;
}

} // namespace millrace::actors::flow_engine
