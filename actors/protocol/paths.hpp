// Registry paths of the long-lived actors. Callers resolve these through the
// registry for each conversation; a restarted actor keeps its path.

#pragma once

namespace millrace::actors::paths {

constexpr const char* root = "/millrace";
constexpr const char* storage = "/millrace/storage";
constexpr const char* storage_writer = "/millrace/storage/writer";
constexpr const char* storage_reader = "/millrace/storage/reader";
constexpr const char* storage_maintenance = "/millrace/storage/maintenance";
constexpr const char* dispatcher = "/millrace/dispatcher";
constexpr const char* worker = "/millrace/worker";
constexpr const char* flows = "/millrace/flows";
constexpr const char* api = "/millrace/api";

} // namespace millrace::actors::paths
