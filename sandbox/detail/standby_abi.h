/* The constants of the standby request that both sides must agree on: the
 * launcher (C++, standby_wire.hpp/.cpp) and the stub inside the sandbox
 * (plain C, standby_stub.c, built with another C library). The layout they
 * describe is in standby_wire.hpp. */
#ifndef MILLRACE_SANDBOX_STANDBY_ABI_H
#define MILLRACE_SANDBOX_STANDBY_ABI_H

/* The first four bytes of a request. */
#define MILLRACE_STANDBY_MAGIC "MRSB"
/* 2: the standby's program writes the ready byte (below) before it waits.
 * A program of version 1 does not; it refuses a request of version 2, so
 * it never runs a job that the launcher would then start again. */
#define MILLRACE_STANDBY_VERSION 2u
/* flags: keep the result channel (descriptor 3). */
#define MILLRACE_STANDBY_FLAG_RESULT 1u
/* The one byte a standby's program writes on the control socket once it
 * runs and waits for its request: everything before it (helper, bwrap,
 * namespaces, mounts, the program's own start-up) worked. A standby that
 * ends without having written it never ran its job, and the launcher starts
 * that job again cold (sandbox/README.md, "Standby sandboxes"). */
#define MILLRACE_STANDBY_READY 'R'
/* Descriptors of a standby sandbox, as seen inside: the unix socket to the
 * launcher, and the stub's own program (bwrap execs /proc/self/fd/7). */
#define MILLRACE_STANDBY_FD_CONTROL 6
#define MILLRACE_STANDBY_FD_STUB 7

#endif
