#include "sandbox/detail/bwrap_args.hpp"

#include <algorithm>

namespace millrace::sandbox::detail {

namespace {

void add(std::vector<std::string>& out, std::initializer_list<std::string> items) {
  out.insert(out.end(), items);
}

bool has_env(const launch_plan& plan, const std::string& name) {
  return std::any_of(plan.env.begin(), plan.env.end(), [&](auto& kv) { return kv.first == name; });
}

} // namespace

std::vector<std::string> bwrap_options(const launch_plan& plan, const limits& lim, const bwrap_fds& fds,
                                       const std::string& etc_dir) {
  std::vector<std::string> a;
  a.reserve(96 + 4 * plan.files.size() + 3 * plan.env.size());
  // Namespaces. --unshare-user is what bwrap would pick anyway when it runs
  // unprivileged (always: root drops to run_as first); naming it lets
  // --disable-userns stop the job from nesting user namespaces of its own.
  add(a, {"--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
          "--hostname", "millrace-job"});
  if (!plan.network && !fds.netns_joined)
    a.emplace_back("--unshare-net");
  // --die-with-parent: if bwrap's outer process dies, the job dies with it.
  // --new-session: no TIOCSTI into a terminal; the init becomes a session and
  // process-group leader the kill ladder can signal as a group.
  add(a, {"--die-with-parent", "--new-session"});

  // A root of its own: /usr read-only, the usual merged-/usr symlinks.
  add(a, {"--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
          "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin", "--proc", "/proc",
          "--dev", "/dev"});
  // bwrap's /dev is a writable tmpfs: read-only it goes (device nodes stay
  // usable), except a /dev/shm of its own for POSIX shared memory, sized
  // like the job folder.
  if (lim.job_dir_bytes != 0)
    add(a, {"--size", std::to_string(lim.job_dir_bytes)});
  add(a, {"--tmpfs", "/dev/shm", "--remount-ro", "/dev"});
  // /etc: the launcher's copy of the host files a program may need and the
  // synthetic passwd and group, in one bind. Its resolv.conf is empty; a job
  // with network gets the host's bound over it.
  add(a, {"--ro-bind", etc_dir, "/etc"});
  if (plan.network)
    add(a, {"--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"});

  // The job folder: a tmpfs whose pages are charged to the job's memory
  // cgroup and vanish with the mount namespace. /tmp is a symlink into it,
  // so /tmp shares the job folder's size limit.
  if (lim.job_dir_bytes != 0)
    add(a, {"--size", std::to_string(lim.job_dir_bytes)});
  add(a, {"--tmpfs", "/job", "--perms", "01777", "--dir", "/job/tmp", "--symlink", "/job/tmp", "/tmp"});
  if (!plan.shared_dir.empty())
    add(a, {"--bind", plan.shared_dir, "/job/shared"});

  for (auto& [host, inside] : plan.ro_binds)
    add(a, {"--ro-bind", host, inside});
  for (size_t i = 0; i < plan.files.size(); ++i) {
    auto& f = plan.files[i];
    add(a, {"--perms", f.executable ? "0755" : "0644", "--file",
            std::to_string(fds.first_file + static_cast<int>(i)), f.path});
  }
  // Everything outside /job (and the kernel filesystems) is read-only,
  // including the tmpfs root bwrap built the tree on.
  add(a, {"--remount-ro", "/", "--chdir", "/job"});

  a.emplace_back("--clearenv");
  for (auto& [name, value] : job_environment(plan))
    if (name != "PWD") // bwrap sets it itself after --chdir
      add(a, {"--setenv", name, value});

  add(a, {"--json-status-fd", std::to_string(fds.status)});
  return a;
}

std::vector<std::pair<std::string, std::string>> job_environment(const launch_plan& plan) {
  std::vector<std::pair<std::string, std::string>> env;
  env.reserve(plan.env.size() + 4);
  for (auto& kv : plan.env)
    if (kv.first != "PWD")
      env.push_back(kv);
  if (!has_env(plan, "PATH"))
    env.emplace_back("PATH", "/usr/local/bin:/usr/bin:/bin");
  if (!has_env(plan, "HOME"))
    env.emplace_back("HOME", "/job");
  if (!has_env(plan, "LANG"))
    env.emplace_back("LANG", "C.UTF-8");
  env.emplace_back("PWD", "/job");
  return env;
}

std::string synthetic_passwd(const sandbox_identity& id) {
  std::string out = "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
  if (id.uid != 0 && id.uid != 65534)
    out += id.user + ":x:" + std::to_string(id.uid) + ":" + std::to_string(id.gid) + ":" + id.user
           + ":/job:/bin/sh\n";
  return out;
}

std::string synthetic_group(const sandbox_identity& id) {
  std::string out = "root:x:0:\nnogroup:x:65534:\n";
  if (id.gid != 0 && id.gid != 65534)
    out += id.group + ":x:" + std::to_string(id.gid) + ":\n";
  return out;
}

std::string nul_joined(const std::vector<std::string>& args) {
  std::string out;
  for (auto& s : args) {
    out += s;
    out.push_back('\0');
  }
  return out;
}

} // namespace millrace::sandbox::detail
