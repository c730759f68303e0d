#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace millrace::test {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

child_process::child_process(std::vector<std::string> argv, std::vector<std::string> env) {
  static std::atomic<int> n{0};
  auto base = "/tmp/millrace-child-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  out_path_ = base + ".out";
  err_path_ = base + ".err";
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  // `env` overrides what this process has (getenv takes the first match).
  auto key = [](const std::string& e) { return e.substr(0, e.find('=')); };
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string entry{*e};
    bool overridden = false;
    for (auto& o : env)
      overridden = overridden || key(o) == key(entry);
    if (!overridden)
      envs.push_back(std::move(entry));
  }
  for (auto& e : env)
    envs.push_back(e);
  std::vector<char*> envp;
  for (auto& e : envs)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    throw std::runtime_error("cannot start " + argv[0]);
}

child_process::~child_process() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
  ::unlink(out_path_.c_str());
  ::unlink(err_path_.c_str());
}

void child_process::signal(int sig) {
  if (!exited_)
    ::kill(pid_, sig);
}

int child_process::wait(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!exited_) {
    int st = 0;
    auto r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = st;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

bool child_process::wait_for_stderr(const std::string& text, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (err().find(text) != std::string::npos)
      return true;
    int st = 0;
    if (!exited_ && ::waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      status_ = st;
    }
    if (exited_)
      return err().find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return false;
}

std::string child_process::out() const {
  return slurp(out_path_);
}

std::string child_process::err() const {
  return slurp(err_path_);
}

run_result run_command(std::vector<std::string> argv, std::vector<std::string> env,
                       std::chrono::milliseconds limit) {
  child_process p{std::move(argv), std::move(env)};
  int code = p.wait(limit);
  return {code, p.out(), p.err()};
}

} // namespace millrace::test
