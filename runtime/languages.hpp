// The languages Millrace runs, with their default tags (Windmill's: a tag per
// language). The runtimes themselves are in runtime/<language>/.

#pragma once

#include <string>
#include <vector>

namespace millrace::runtime {

struct language {
  std::string name;        // as in job specs and Windmill: "bash", "python3"
  std::string default_tag; // queue of jobs that name no tag
  std::string extension;   // of script files: ".sh", ".py"
};

/// The language of this name, or null.
const language* find_language(const std::string& name);

/// The language of a script file name by its extension, or null.
const language* language_of_file(const std::string& file_name);

const std::vector<language>& languages();

/// Tag of identity and noop jobs, which run no process.
inline const std::string noop_tag = "noop";

} // namespace millrace::runtime
