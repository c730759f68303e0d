// What the launcher sends a standby sandbox to turn it into a job, and how
// a standby's shape is named.
//
// A standby is a sandbox made before its job is known: exec helper, bwrap,
// namespaces, mounts and cgroups all set up, with millrace-sandbox-stub
// (standby_stub.c) waiting inside on a unix socket. To start a job the
// launcher sends one message on that socket carrying a sealed memfd with
// the request below (and, when there is stdin data, a second sealed memfd
// that becomes the job's stdin). The stub writes the job files, sets up
// stdin and the result channel, and execs the program with its environment.
// An exec that fails is reported back on the same socket; a successful exec
// closes it (close-on-exec).
//
// Request layout (host byte order; the stub runs on the same machine):
//   "MRSB" u32:version(2) u32:flags
//   u32:argc  { str }*argc          the program's argv, argv[0] absolute
//   u32:envc  { str }*envc          "NAME=value", the whole environment
//   u32:files { u32:mode str:path str:contents }*files
// where str is u32:length, the bytes, and one NUL (so the stub can use
// strings in place). flags: 1 = keep the result channel (fd 3).

#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/detail/standby_abi.h"
#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

inline constexpr char standby_magic[4] = {MILLRACE_STANDBY_MAGIC[0], MILLRACE_STANDBY_MAGIC[1],
                                          MILLRACE_STANDBY_MAGIC[2], MILLRACE_STANDBY_MAGIC[3]};
inline constexpr uint32_t standby_version = MILLRACE_STANDBY_VERSION;
inline constexpr uint32_t standby_flag_result = MILLRACE_STANDBY_FLAG_RESULT;

/// Descriptors of a standby sandbox, as seen inside (bwrap passes both to
/// the stub; the stub closes them before the job's program runs).
inline constexpr int standby_fd_control = MILLRACE_STANDBY_FD_CONTROL;
inline constexpr int standby_fd_stub = MILLRACE_STANDBY_FD_STUB;

/// The request for `plan`; `env` is the whole environment the job gets
/// (job_environment() in bwrap_args.hpp).
std::string encode_standby_request(const launch_plan& plan,
                                   const std::vector<std::pair<std::string, std::string>>& env);

/// Sends the request memfd (and the stdin memfd, -1 for none) on the
/// launcher's end of a standby's socket, without blocking. False with
/// `error` set when the standby is gone.
bool send_standby_request(int control, int request, int stdin_fd, std::string& error);

/// Two plans with the same shape can use each other's standbys: everything
/// bwrap, the exec helper and the cgroups fix before the program is known
/// (network, extra binds, every limit), and the standby's own program
/// (launch_plan::standby_argv). argv, env, files, stdin and the
/// result channel are not part of it: the stub applies them.
std::string standby_shape(const launch_plan& plan, const limits& lim);

} // namespace millrace::sandbox::detail
