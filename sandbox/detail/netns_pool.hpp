// Network namespaces kept for later jobs. A job without network used to get
// a new namespace from bwrap (--unshare-net); making one and the kernel's
// clean-up of it afterwards cost about 0.8 ms of machine CPU per job, about
// a tenth of a bash job's whole cost. As root (and with cgroups), the
// launcher makes them itself instead, each with only its loopback, up; the
// exec helper joins one (setns, while still root) before it execs bwrap, and
// once the job has ended with nothing of it left, the namespace goes back to
// the pool.
//
// Nothing of it left means: no process (the job's pids cgroup, which every
// process of the job joined, is empty) and no socket, not even a TCP
// TIME_WAIT (the namespace's sockstat counters, read through a /proc file
// opened inside it), so no socket of an earlier job can hold a port a later
// one binds, or take its connections. The job cannot change the namespace:
// it belongs to the host's user namespace, where the job has no capability
// (no address, route, firewall rule or sysctl of its own making survives,
// because it can make none). Two jobs never share one at the same time.
//
// What a later job in a reused namespace can read of earlier ones: counters.
// The loopback's packet and byte counts (/proc/net/dev), the protocol
// counters of /proc/net/snmp and netstat (connections opened, segments),
// the TCP metrics cache for 127.0.0.1, and the namespace's inode number.
// Not the data, not the ports, not the peers. sandbox.reuse = false gives
// every job a new namespace for deployments where that matters.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/detail/unique_fd.hpp"

namespace millrace::sandbox::detail {

/// One network namespace: its /proc/…/ns/net descriptor, and its
/// /proc/…/net/sockstat (the namespace's socket counters).
struct pooled_netns {
  unique_fd ns;
  unique_fd sockstat;
  /// Taken for a job at least once.
  bool used = false;
};

/// A new namespace with its loopback up. nullopt + `error` when the kernel
/// refuses (not root, no CAP_SYS_ADMIN).
std::optional<pooled_netns> make_netns(std::string& error);

/// True when a socket of any kind, or a TCP TIME_WAIT, exists in the
/// namespace, or when its counters cannot be read.
bool netns_has_sockets(const pooled_netns& ns);

class netns_pool {
public:
  /// Namespaces kept at most; more idle ones than this are closed.
  static constexpr size_t default_capacity = 64;

  /// A pool, if this process can make namespaces: one is made to find out.
  /// nullptr + `why_not` otherwise.
  static std::shared_ptr<netns_pool> make(std::string& why_not, size_t capacity = default_capacity);

  /// The namespace given back last, else a new one. Any thread. nullopt +
  /// `error` when none can be made.
  std::optional<pooled_netns> take(std::string& error);

  /// Keeps `ns` when no socket is left in it and the pool has room; else
  /// closes it (the kernel cleans it up). The caller has made sure that no
  /// process is left in it. Any thread.
  void give_back(pooled_netns ns);

  /// Namespaces waiting for a job.
  size_t idle() const;

  /// Jobs that got a namespace an earlier job had used (the one make()
  /// tried does not count).
  uint64_t reused() const;

private:
  explicit netns_pool(size_t capacity) : capacity_(capacity) {
  }

  size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<pooled_netns> idle_; // guarded by mutex_
  uint64_t reused_ = 0;            // guarded by mutex_
};

} // namespace millrace::sandbox::detail
