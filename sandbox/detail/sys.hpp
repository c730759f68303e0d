// Small POSIX helpers shared by the launcher and the reactor: pipes, sealed
// memfds and whole-file reads/writes of tiny kernel files (cgroupfs, procfs).
// Every descriptor is created close-on-exec, so nothing leaks into a child
// unless the spawner maps it explicitly.

#pragma once

#include <sys/types.h>

#include <cerrno>
#include <string>
#include <string_view>

#include "sandbox/detail/unique_fd.hpp"

namespace millrace::sandbox::detail {

/// "what: strerror(err)".
std::string sys_error(std::string_view what, int err = errno);

/// A pipe whose read end is non-blocking (for the reactor) and whose write end
/// stays blocking (the job writes to it like to any pipe). Both close-on-exec.
bool make_pipe(unique_fd& read_end, unique_fd& write_end, std::string& error);

/// An anonymous in-memory file holding `data`, positioned at offset 0 and
/// sealed against writes, so a reader (bwrap's --file, the job's stdin) sees
/// exactly `data` and can change nothing. Nothing touches the host filesystem.
unique_fd sealed_memfd(const char* name, std::string_view data, std::string& error);

/// Reads a small file (cgroupfs, procfs) whole. False when it cannot be read.
bool read_file(const std::string& path, std::string& out);

/// Writes `data` to an existing file in one write(2), as cgroupfs wants.
bool write_file(const std::string& path, std::string_view data, std::string& error);

/// pidfd_open(2) (close-on-exec by nature). Called through syscall(2):
/// glibc 2.36's <sys/pidfd.h> lacks extern "C" and does not link from C++.
int open_pidfd(pid_t pid);

/// pidfd_send_signal(2): signals exactly the process the pidfd names, never
/// a later process that reused its pid.
int signal_pidfd(int pidfd, int sig);

/// Start time of a process (field 22 of /proc/<pid>/stat, clock ticks
/// since boot); with the pid it names one process for good. 0 if unknown.
unsigned long long process_start_time(pid_t pid);

/// Parent pid (field 4 of /proc/<pid>/stat), 0 if unknown.
pid_t parent_pid(pid_t pid);

/// True if the process is pid 1 of a pid namespace below ours (NSpid in
/// /proc/<pid>/status has two or more levels, the innermost being 1).
bool is_namespace_init(pid_t pid);

/// True if orphaned descendants are reparented to this process: it is pid 1
/// or a child subreaper (PR_SET_CHILD_SUBREAPER).
bool orphans_come_to_us();

/// Parses the first unsigned number after `key` in `text` ("oom_kill 3").
bool find_number(std::string_view text, std::string_view key, unsigned long long& value);

} // namespace millrace::sandbox::detail
