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
/// The flow slot pool; its slots are slots/<n>, each run slots/<n>/run.
constexpr const char* flow_slots = "/millrace/flows/slots";
/// A step waiting for approvals registers at suspended/<step job id>, so the
/// API can hand it the resume and cancel events it records.
constexpr const char* suspended_steps = "/millrace/flows/suspended";
constexpr const char* api = "/millrace/api";

} // namespace millrace::actors::paths
