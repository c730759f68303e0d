// A job's result as read from the database, in the form a slot reports it.

#include "actors/dispatcher/read_status.hpp"

#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace millrace::actors {

namespace {

// rapidjson 1.1's Writer quotes a raw number; this one writes it as it is.
struct number_keeping_writer : rapidjson::Writer<rapidjson::StringBuffer> {
  using rapidjson::Writer<rapidjson::StringBuffer>::Writer;
  bool RawNumber(const Ch* str, rapidjson::SizeType length, bool) {
    return RawValue(str, length, rapidjson::kNumberType);
  }
};

} // namespace

std::string result_cell(const storage::result_set& rs) {
  auto text = status_cell(rs, "result");
  if (text.empty())
    return "null";
  // jsonb's text form spaces its separators ({"x": 1}); a result answered
  // from memory has none ({"x":1}). Re-written without spaces, so that an
  // answer does not depend on whether the job was still in memory. Numbers
  // are copied as written (jsonb keeps any precision; a double would not).
  rapidjson::StringBuffer out;
  number_keeping_writer writer{out};
  rapidjson::Reader reader;
  rapidjson::StringStream in{text.c_str()};
  if (!reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag>(
        in, writer))
    return text;
  return {out.GetString(), out.GetSize()};
}

} // namespace millrace::actors
