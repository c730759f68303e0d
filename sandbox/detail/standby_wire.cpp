#include "sandbox/detail/standby_wire.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

namespace {

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out += s;
  out.push_back('\0');
}

} // namespace

std::string encode_standby_request(const launch_plan& plan,
                                   const std::vector<std::pair<std::string, std::string>>& env) {
  size_t size = 64;
  for (auto& a : plan.argv)
    size += a.size() + 5;
  for (auto& [k, v] : env)
    size += k.size() + v.size() + 6;
  for (auto& f : plan.files)
    size += f.path.size() + f.contents.size() + 14;
  std::string out;
  out.reserve(size);
  out.append(standby_magic, 4);
  put_u32(out, standby_version);
  put_u32(out, plan.result_channel ? standby_flag_result : 0);
  put_u32(out, static_cast<uint32_t>(plan.argv.size()));
  for (auto& a : plan.argv)
    put_str(out, a);
  put_u32(out, static_cast<uint32_t>(env.size()));
  for (auto& [k, v] : env)
    put_str(out, k + "=" + v);
  put_u32(out, static_cast<uint32_t>(plan.files.size()));
  for (auto& f : plan.files) {
    put_u32(out, f.executable ? 0755 : 0644);
    put_str(out, f.path);
    put_str(out, f.contents);
  }
  return out;
}

bool send_standby_request(int control, int request, int stdin_fd, std::string& error) {
  int fds[2] = {request, stdin_fd};
  const size_t count = stdin_fd >= 0 ? 2 : 1;
  char byte = 'J';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char space[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = space;
  msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(count * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds, count * sizeof(int));
  ssize_t n;
  do {
    n = ::sendmsg(control, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    error = sys_error("sendmsg to the standby sandbox");
    return false;
  }
  return true;
}

std::string standby_shape(const launch_plan& plan, const limits& lim) {
  std::string key = plan.network ? "net" : "nonet";
  for (auto v : {lim.memory_bytes, uint64_t{lim.pids}, uint64_t{lim.cpu_seconds}, uint64_t{lim.open_files},
                 lim.file_size_bytes, lim.job_dir_bytes})
    key += "|" + std::to_string(v);
  for (auto& a : plan.standby_argv)
    key += "|a" + std::to_string(a.size()) + ":" + a;
  for (auto& [host, inside] : plan.ro_binds) {
    // Lengths first: no path can make two different lists look alike.
    key += "|b" + std::to_string(host.size()) + ":" + host + std::to_string(inside.size()) + ":" + inside;
  }
  return key;
}

} // namespace millrace::sandbox::detail
