"""Millrace python3 runtime: an interpreter started before its job exists.

The sandbox launcher keeps standby sandboxes ready (sandbox/README.md,
"Standby sandboxes").  For python jobs the standby's program is this file,

    /usr/bin/python3 -I -u /opt/millrace/python/standby.pyc

so the interpreter's own start-up (13-20 ms for `python3 -c pass` here,
most of a small job) is done before the job arrives.  Once up, it writes
the ready byte ("R") on descriptor 6, waits there for the job request
(sandbox/detail/standby_wire.hpp: argv, environment, files, and a memfd
for stdin) and applies it exactly as millrace-sandbox-stub would:
job files with their modes, the whole environment, stdin, the result
channel on fd 3.  Then, instead of exec'ing, it runs the wrapper in this
interpreter as if started by

    /usr/bin/python3 -I -u /opt/millrace/python/wrapper.pyc

which is the only command it accepts (the python runtime asks for a
standby only for that command, and only when the job's environment does
not set what the interpreter reads at start-up: LANG, LC_*, PYTHON*).  Any
other request, or any failure before the wrapper runs, is one line on the
socket and on stderr and exit status 127: the launcher reports it as the
job's sandbox error.  End of file instead of a request: the launcher
retired this standby; exit 0.

Each standby serves one job: its interpreter, like its sandbox, is never
reused.
"""

import os
import sys

_CONTROL = 6
_FLAG_RESULT = 1
_READY = b"R"  # MILLRACE_STANDBY_READY (sandbox/detail/standby_abi.h)
_VERSION = 2  # MILLRACE_STANDBY_VERSION


def _fail(message):
    line = f"millrace python standby: {message}\n".encode("utf-8", "backslashreplace")
    for fd in (_CONTROL, 2):
        try:
            os.write(fd, line)
        except OSError:
            pass
    os._exit(127)


def _receive(sock):
    """The request memfd and the stdin memfd (or None); None when retired."""
    import array
    import socket
    msg, ancillary, flags, _ = sock.recvmsg(1, socket.CMSG_SPACE(2 * 4), socket.MSG_CMSG_CLOEXEC)
    if not msg:
        return None
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    if not fds or flags & socket.MSG_CTRUNC:
        _fail("the job request came without its descriptors")
    return fds[0], (fds[1] if len(fds) > 1 else None)


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def u32(self):
        if self.pos + 4 > len(self.data):
            _fail("truncated job request")
        v = int.from_bytes(self.data[self.pos:self.pos + 4], sys.byteorder)
        self.pos += 4
        return v

    def raw(self):
        n = self.u32()
        end = self.pos + n
        if end + 1 > len(self.data) or self.data[end] != 0:
            _fail("malformed string in job request")
        s = self.data[self.pos:end]
        self.pos = end + 1
        return s

    def text(self):
        return os.fsdecode(self.raw())


def _read_request(fd):
    size = os.fstat(fd).st_size
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    os.close(fd)
    r = _Reader(b"".join(chunks))
    if r.data[:4] != b"MRSB":
        _fail("not a job request")
    r.pos = 4
    if r.u32() != _VERSION:
        _fail("job request of another version")
    flags = r.u32()
    argv = [r.text() for _ in range(r.u32())]
    env = [r.text() for _ in range(r.u32())]
    files = []
    for _ in range(r.u32()):
        mode = r.u32()
        files.append((mode, r.text(), r.raw()))
    return flags, argv, env, files


def _write_file(path, mode, contents):
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o755, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(contents)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, mode & 0o777)     # exactly the mode asked for
    finally:
        os.close(fd)


def _wrapper_code(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".pyc"):
        import marshal
        return marshal.loads(memoryview(data)[16:])   # after the 16-byte .pyc header
    return compile(data, path, "exec")


def _accepts(argv):
    own = sys.orig_argv
    return (len(argv) == 4 and len(own) == 4 and argv[:3] == own[:3]
            and os.path.dirname(argv[3]) == os.path.dirname(own[3])
            and os.path.basename(argv[3]) in ("wrapper.pyc", "wrapper.py"))


def main():
    import socket
    sock = socket.socket(fileno=_CONTROL)
    try:
        # The ready byte: the interpreter is up and waits for its job.  A
        # standby that ends before sending it never ran its job, and the
        # launcher starts that job again cold.
        sock.send(_READY)
    except OSError:
        os._exit(0)  # the launcher is gone or retired this standby
    try:
        got = _receive(sock)
    except OSError as e:
        _fail(f"cannot receive the job: {e}")
    if got is None:
        os._exit(0)
    request, stdin_fd = got
    try:
        flags, argv, env, files = _read_request(request)
        if not _accepts(argv):
            _fail(f"this standby runs the python wrapper only, not {argv!r}")
        for mode, path, contents in files:
            _write_file(path, mode, contents)
        os.environ.clear()
        for item in env:
            name, _, value = item.partition("=")
            os.environ[name] = value
        if "TZ" in os.environ:
            import time
            time.tzset()
        if stdin_fd is not None:
            os.dup2(stdin_fd, 0)
            os.close(stdin_fd)
        if not flags & _FLAG_RESULT:
            os.close(3)
        code = _wrapper_code(argv[3])
    except OSError as e:
        _fail(f"cannot set up the job: {e}")
    # The wrapper runs as __main__ of a fresh module, with its own file name,
    # as it would when started by its command line.
    import types
    module = types.ModuleType("__main__")
    module.__file__ = argv[3]
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    sys.argv = [argv[3]]
    sock.close()
    exec(code, module.__dict__)


main()
