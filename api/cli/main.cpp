// The millrace binary: one executable, one subcommand per role.

#include <iostream>
#include <string>
#include <vector>

#include "api/cli/commands.hpp"
#include "api/config/options.hpp"

namespace {

void usage(std::ostream& out) {
  out << "usage: millrace <command> [options]\n"
         "\n"
         "commands:\n"
         "  standalone   run everything in one process (embedded PostgreSQL unless\n"
         "               database.url or MILLRACE_DATABASE_URL is set)\n"
         "  server       the API, dispatcher, flows and storage, with the cluster endpoint\n"
         "               worker nodes join (cluster.listen); a second server on the same\n"
         "               database waits as a standby and takes over when the first dies\n"
         "  worker       a worker node: --server HOST:PORT[,HOST:PORT] --tags T1,T2 --slots N\n"
         "               [--node NAME]; the cluster secret comes from cluster.secret_file or\n"
         "               MILLRACE_CLUSTER_SECRET, never from the command line\n"
         "  migrate      apply the database schema migrations and exit\n"
         "  run FILE     run a .py or .sh script as a job (embedded millrace), stream its\n"
         "               log to stderr, print its result as JSON\n"
         "  token        create, list or revoke API tokens (create|list|revoke)\n"
         "  script       push a script file or run a script, over the HTTP API (push|run)\n"
         "  flow         push an OpenFlow file (JSON or YAML) or run a flow, over the HTTP API (push|run)\n"
         "  job          read or cancel a job over the HTTP API (get|logs|result|cancel)\n"
         "  version      print versions and exit\n"
         "  help         print this help\n"
         "\n"
         "options (standalone, server, worker, migrate):\n"
      << millrace::api::options_help();
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "standalone")
    return millrace::api::cmd_standalone(args);
  if (cmd == "server")
    return millrace::api::cmd_server(args);
  if (cmd == "worker")
    return millrace::api::cmd_worker(args);
  if (cmd == "migrate")
    return millrace::api::cmd_migrate(args);
  if (cmd == "run")
    return millrace::api::cmd_run(args);
  if (cmd == "version" || cmd == "--version")
    return millrace::api::cmd_version(args);
  if (cmd == "token")
    return millrace::api::cmd_token(args);
  if (cmd == "script")
    return millrace::api::cmd_script(args);
  if (cmd == "job")
    return millrace::api::cmd_job(args);
  if (cmd == "flow")
    return millrace::api::cmd_flow(args);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(std::cout);
    return 0;
  }
  std::cerr << "millrace: unknown command '" << cmd << "'\n\n";
  usage(std::cerr);
  return 2;
}
