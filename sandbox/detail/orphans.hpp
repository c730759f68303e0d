// Orphaned sandbox inits. bwrap's outer process never reaps its init (pid 1
// of the sandbox's pid namespace), so when the outer process dies first the
// init goes to the nearest subreaper, or to pid 1. When that is us (the
// server runs as pid 1 in a container, or is a subreaper), nobody else ever
// reaps it. A job whose init is known reaps it through its pidfd
// (sandbox_job); this is for the init nobody named: the outer process was
// killed before it reported the init's pid (a standby ended at shutdown).

#pragma once

#include <chrono>

namespace millrace::sandbox::detail {

/// When orphans come to us: every child of ours that is a pid namespace's
/// init has lost its bwrap outer process (the only parent such an init
/// has), so its sandbox is ending. Each one gets SIGKILL (its
/// --die-with-parent signal normally got there first) and is reaped, once
/// it has exited, within `bound` in all. Other children are never touched.
/// Otherwise nothing: pid 1 reaps orphans.
void reap_orphaned_inits(std::chrono::milliseconds bound);

} // namespace millrace::sandbox::detail
