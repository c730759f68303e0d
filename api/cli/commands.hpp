// Subcommands of the millrace binary. Each takes the arguments after its name
// and returns the process exit code (0 ok, 1 failure, 2 usage or config error).

#pragma once

#include <string>
#include <vector>

namespace millrace::api {

int cmd_standalone(const std::vector<std::string>& args);
int cmd_server(const std::vector<std::string>& args);
int cmd_worker(const std::vector<std::string>& args);
int cmd_migrate(const std::vector<std::string>& args);
int cmd_version(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_token(const std::vector<std::string>& args);
int cmd_script(const std::vector<std::string>& args);
int cmd_job(const std::vector<std::string>& args);
int cmd_flow(const std::vector<std::string>& args);

} // namespace millrace::api
