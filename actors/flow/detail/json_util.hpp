// Small JSON helpers of the flow engine (RapidJSON inside the .cpp).

#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace millrace::actors::flow_engine {

/// JavaScript truthiness of a JSON value: false, null, 0 and "" are false.
bool truthy(const std::string& json);

/// The elements of a JSON array as JSON texts; nullopt if not an array.
std::optional<std::vector<std::string>> array_elements(const std::string& json);

/// A JSON number as a double; nullopt otherwise.
std::optional<double> number_of(const std::string& json);

/// A JSON string's value; "" for anything else.
std::string string_of(const std::string& json);

/// `{"k1":v1,...}` from (key, JSON) pairs, appended to the members of `base`
/// (a JSON object text).
std::string object_with(const std::string& base,
                        const std::vector<std::pair<std::string, std::string>>& members);

/// A JSON array from element texts.
std::string array_of(const std::vector<std::string>& elements);

/// A JSON string literal.
std::string quote(const std::string& s);

/// Is this a JSON object text?
bool is_object(const std::string& json);

/// The value of `key` in a JSON object text, as JSON; nullopt if absent.
std::optional<std::string> member(const std::string& json, const std::string& key);

} // namespace millrace::actors::flow_engine
