// The OpenAPI 3 document of the HTTP API (api/openapi.json, compiled in).

#pragma once

#include <string>

namespace millrace::api {

const std::string& openapi_json();

} // namespace millrace::api
