#include "runtime/schema.hpp"

#include <stdexcept>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace millrace::runtime {

namespace {

std::string pointer_text(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.Stringify(sb);
  return sb.GetString();
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  v.Accept(w);
  return sb.GetString();
}

std::string type_of(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "boolean";
  if (v.IsInt64() || v.IsUint64()) return "integer";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  return "object";
}

} // namespace

std::optional<arg_error> validate_args(const std::string& schema_json,
                                       const std::string& args_json) {
  rapidjson::Document sd;
  sd.Parse(schema_json.c_str(), schema_json.size());
  if (sd.HasParseError() || !sd.IsObject())
    return arg_error{"", "the script's schema is not valid JSON"};
  rapidjson::Document args;
  args.Parse(args_json.c_str(), args_json.size());
  if (args.HasParseError())
    return arg_error{"", std::string("args are not valid JSON (offset ")
                           + std::to_string(args.GetErrorOffset()) + ": "
                           + rapidjson::GetParseError_En(args.GetParseError()) + ")"};
  if (!args.IsObject())
    return arg_error{"", "args must be a JSON object"};
  // Missing required fields first: RapidJSON 1.1 reports them without naming
  // the field.
  if (sd.HasMember("required") && sd["required"].IsArray())
    for (auto& r : sd["required"].GetArray())
      if (r.IsString() && !args.HasMember(r))
        return arg_error{std::string("/") + r.GetString(),
                         std::string("missing required argument '") + r.GetString() + "'"};
  // The schema's "$schema" names draft 2020-12, which RapidJSON does not
  // know; the keywords we generate are the draft-04 subset it implements.
  sd.RemoveMember("$schema");
  rapidjson::SchemaDocument schema{sd};
  rapidjson::SchemaValidator validator{schema};
  if (args.Accept(validator))
    return std::nullopt;
  auto where = pointer_text(validator.GetInvalidDocumentPointer());
  std::string keyword = validator.GetInvalidSchemaKeyword();
  auto spointer = validator.GetInvalidSchemaPointer();
  const rapidjson::Value* rule = spointer.Get(sd);
  const rapidjson::Value* value = validator.GetInvalidDocumentPointer().Get(args);
  std::string field = where.empty() ? std::string("args") : "argument '" + where.substr(1) + "'";
  std::string msg;
  if (keyword == "type" && rule && rule->HasMember("type") && value)
    msg = field + ": expected " + to_json((*rule)["type"]) + ", got " + type_of(*value);
  else if (keyword == "enum" && rule && rule->HasMember("enum") && value)
    msg = field + ": " + to_json(*value) + " is not one of " + to_json((*rule)["enum"]);
  else if (keyword == "additionalProperties")
    msg = field + ": has a field the script does not take";
  else
    msg = field + ": violates the schema keyword '" + keyword + "'";
  return arg_error{where, msg};
}

std::string args_from_pairs(const std::string& schema_json,
                            const std::vector<std::pair<std::string, std::string>>& pairs) {
  rapidjson::Document sd;
  sd.Parse(schema_json.c_str(), schema_json.size());
  rapidjson::Document out;
  out.SetObject();
  auto& alloc = out.GetAllocator();
  for (auto& [name, text] : pairs) {
    std::string type;
    if (sd.IsObject() && sd.HasMember("properties") && sd["properties"].IsObject()
        && sd["properties"].HasMember(name.c_str()) && sd["properties"][name.c_str()].IsObject()
        && sd["properties"][name.c_str()].HasMember("type")
        && sd["properties"][name.c_str()]["type"].IsString())
      type = sd["properties"][name.c_str()]["type"].GetString();
    rapidjson::Value v;
    if (type == "string") {
      v.SetString(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), alloc);
    } else {
      rapidjson::Document parsed;
      parsed.Parse(text.c_str(), text.size());
      if (parsed.HasParseError()) {
        if (!type.empty())
          throw std::invalid_argument("--arg " + name + ": expected " + type + ", got '" + text
                                      + "'");
        v.SetString(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), alloc);
      } else {
        v.CopyFrom(parsed, alloc);
      }
    }
    out.AddMember(rapidjson::Value(name.c_str(), alloc), v, alloc);
  }
  return to_json(out);
}

} // namespace millrace::runtime
