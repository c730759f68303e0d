#include "sandbox/detail/netns_pool.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>

#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

namespace {

/// On the calling thread, which must be one of its own: it is left in the
/// new namespace.
std::optional<pooled_netns> make_here(std::string& error) {
  if (::unshare(CLONE_NEWNET) != 0) {
    error = sys_error("unshare(CLONE_NEWNET)");
    return std::nullopt;
  }
  pooled_netns out;
  out.ns.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!out.ns) {
    error = sys_error("open /proc/thread-self/ns/net");
    return std::nullopt;
  }
  // Loopback up, as bwrap's --unshare-net leaves it: the kernel gives it
  // 127.0.0.1/8 and ::1 as it comes up.
  unique_fd s{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) {
    error = sys_error("SIOCGIFFLAGS lo");
    return std::nullopt;
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) {
    error = sys_error("SIOCSIFFLAGS lo up");
    return std::nullopt;
  }
  // Its socket counters: a /proc/…/net file shows the namespace of the
  // thread that opened it, for as long as it stays open.
  out.sockstat.reset(::open("/proc/thread-self/net/sockstat", O_RDONLY | O_CLOEXEC));
  if (!out.sockstat) {
    error = sys_error("open /proc/thread-self/net/sockstat");
    return std::nullopt;
  }
  return out;
}

} // namespace

std::optional<pooled_netns> make_netns(std::string& error) {
  // A thread of its own: it ends in the new namespace, and no other work of
  // ours (a spawn would inherit it) ever runs on it.
  std::optional<pooled_netns> out;
  try {
    std::thread t{[&] { out = make_here(error); }};
    t.join();
  } catch (const std::system_error& e) { // no thread to be had (EAGAIN)
    error = std::string{"cannot start a thread: "} + e.what();
    return std::nullopt;
  }
  return out;
}

bool netns_has_sockets(const pooled_netns& ns) {
  // "sockets: used N" counts every socket of the namespace (TCP ones in
  // FIN_WAIT, whose process is gone, included); "TCP: ... tw N" the
  // TIME_WAIT ones of IPv4 and IPv6, which are not full sockets.
  char buf[512];
  ssize_t n = ns.sockstat ? ::pread(ns.sockstat.get(), buf, sizeof(buf) - 1, 0) : -1;
  if (n <= 0)
    return true;
  buf[n] = '\0';
  unsigned long long used = 0;
  const char* tw = std::strstr(buf, " tw ");
  return !find_number(buf, "sockets: used", used) || used != 0 || tw == nullptr
         || std::strtoull(tw + 4, nullptr, 10) != 0;
}

std::shared_ptr<netns_pool> netns_pool::make(std::string& why_not, size_t capacity) {
  auto first = make_netns(why_not);
  if (!first)
    return nullptr;
  std::shared_ptr<netns_pool> pool{new netns_pool{capacity}};
  pool->idle_.push_back(std::move(*first));
  return pool;
}

std::optional<pooled_netns> netns_pool::take(std::string& error) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!idle_.empty()) {
      auto ns = std::move(idle_.back());
      idle_.pop_back();
      if (ns.used)
        ++reused_;
      ns.used = true;
      return ns;
    }
  }
  auto ns = make_netns(error);
  if (ns)
    ns->used = true;
  return ns;
}

void netns_pool::give_back(pooled_netns ns) {
  if (!ns.ns || netns_has_sockets(ns))
    return;
  std::lock_guard<std::mutex> guard{mutex_};
  if (idle_.size() < capacity_)
    idle_.push_back(std::move(ns));
}

size_t netns_pool::idle() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return idle_.size();
}

uint64_t netns_pool::reused() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return reused_;
}

} // namespace millrace::sandbox::detail
