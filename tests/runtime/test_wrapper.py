"""Tests for runtime/python/wrapper.py (stdlib unittest).

Run from this folder:  /usr/bin/python3 -B -m unittest -v test_wrapper

Each test runs the wrapper as the worker does, `/usr/bin/python3 -I -u
wrapper.py`, with the script in a temporary directory (MILLRACE_SCRIPT, and
that directory as cwd), the args on stdin, and the result channel on fd 3:
the write end of a pipe is dup2'd onto fd 3 in the child (preexec_fn), which
also closes any other inheritable fd above 2; with close_fds=False only
inheritable fds cross exec, so the child gets exactly 0, 1, 2 and 3, as
under the worker.  The parent reads the
pipe's read end in a thread while the child runs.
"""

import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest

RUNTIME_DIR = os.environ.get("MILLRACE_PYTHON_RUNTIME_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "python"))
PYTHON = os.environ.get("MILLRACE_PYTHON", "/usr/bin/python3")
WRAPPER = os.path.join(RUNTIME_DIR, "wrapper.py")


class Run:
    def __init__(self, rc, channel, stdout, stderr):
        self.rc = rc
        self.channel = channel               # raw bytes read from fd 3
        self.stdout = stdout.decode("utf-8", "replace")
        self.stderr = stderr.decode("utf-8", "replace")
        self.doc = json.loads(channel.decode("utf-8")) if channel else None

    def __repr__(self):
        return (f"Run(rc={self.rc}, channel={self.channel[:2000]!r}, "
                f"stdout={self.stdout[:2000]!r}, stderr={self.stderr[:2000]!r})")


def _child_fds(w, result_fd):
    """In the forked child, before exec: the channel on result_fd, and no
    other inheritable fd above 2 (the test runner may have inherited some)."""
    if result_fd is not None:
        os.dup2(w, result_fd)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != result_fd:
            try:
                if os.get_inheritable(fd):
                    os.close(fd)
            except OSError:
                pass


def run_wrapper(source, args=b"{}", files=None, wrapper=WRAPPER, result_fd=3,
                env=None, timeout=60):
    """Run one job; returns Run.  `args` is bytes (sent as is) or an object."""
    if not isinstance(args, bytes):
        args = json.dumps(args).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="millrace-wrapper-test-") as d:
        script = os.path.join(d, "main.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))
        for name, text in (files or {}).items():
            with open(os.path.join(d, name), "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))
        child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                     "MILLRACE_SCRIPT": script, "MILLRACE_TEST_DIR": d}
        child_env.update(env or {})
        r, w = os.pipe()
        chunks = []

        def drain():
            while True:
                b = os.read(r, 65536)
                if not b:
                    break
                chunks.append(b)

        reader = threading.Thread(target=drain)
        try:
            proc = subprocess.Popen(
                [PYTHON, "-I", "-u", wrapper], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=d, env=child_env,
                close_fds=False, preexec_fn=lambda: _child_fds(w, result_fd))
        finally:
            os.close(w)
        reader.start()
        try:
            out, err = proc.communicate(args, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        finally:
            reader.join(timeout)
            os.close(r)
        return Run(proc.returncode, b"".join(chunks), out, err)


class WrapperTestCase(unittest.TestCase):
    def ok(self, run):
        self.assertEqual(run.rc, 0, run)
        self.assertIsNotNone(run.doc, run)
        self.assertEqual(set(run.doc), {"ok", "result"}, run)
        self.assertIs(run.doc["ok"], True, run)
        return run.doc["result"]

    def failed(self, run, name):
        self.assertEqual(run.rc, 0, run)         # failures are reported, not exit codes
        self.assertIsNotNone(run.doc, run)
        self.assertEqual(set(run.doc), {"ok", "error"}, run)
        self.assertIs(run.doc["ok"], False, run)
        error = run.doc["error"]
        self.assertEqual(set(error), {"name", "message", "stack"}, run)
        self.assertEqual(error["name"], name, run)
        self.assertNotIn("wrapper.py", error["stack"], run)
        self.assertNotIn("<frozen importlib", error["stack"], run)
        return error


class Success(WrapperTestCase):
    def test_kwargs(self):
        run = run_wrapper("""
            def main(a: int, b: str = "x", c=None):
                return {"a": a, "b": b, "c": c}
            """, {"a": 1, "c": [1, 2]})
        self.assertEqual(self.ok(run), {"a": 1, "b": "x", "c": [1, 2]})
        self.assertTrue(run.channel.startswith(b'{"ok": true, "result": '), run)

    def test_unknown_keys_are_ignored(self):
        run = run_wrapper("def main(a):\n    return a\n", {"a": 5, "zzz": 1, "b": 2})
        self.assertEqual(self.ok(run), 5)

    def test_var_kwargs_receive_everything(self):
        run = run_wrapper("def main(a, **kw):\n    return [a, kw]\n",
                          {"a": 1, "b": 2, "not-an-identifier": 3})
        self.assertEqual(self.ok(run), [1, {"b": 2, "not-an-identifier": 3}])

    def test_var_kwargs_only(self):
        run = run_wrapper("def main(**kw):\n    return kw\n", {"x": {"y": [None]}})
        self.assertEqual(self.ok(run), {"x": {"y": [None]}})

    def test_none_result(self):
        run = run_wrapper("def main():\n    pass\n")
        self.assertIsNone(self.ok(run))
        self.assertEqual(run.channel, b'{"ok": true, "result": null}')

    def test_empty_stdin_means_no_args(self):
        for stdin in (b"", b"  \n", b"{}"):
            with self.subTest(stdin):
                run = run_wrapper("def main(a=4):\n    return a\n", stdin)
                self.assertEqual(self.ok(run), 4)

    def test_bytes_in_and_out(self):
        run = run_wrapper("""
            def main(data: bytes, maybe: bytes | None = None):
                assert isinstance(data, bytes), type(data)
                return {"len": len(data), "echo": data + b"!", "maybe": maybe}
            """, {"data": "aGVsbG8=", "maybe": "AAE="})
        self.assertEqual(self.ok(run), {"len": 5, "echo": "aGVsbG8h", "maybe": "AAE="})

    def test_datetime_in_and_out(self):
        run = run_wrapper("""
            import datetime
            from typing import Optional
            def main(when: datetime.datetime, day: datetime.date,
                     later: Optional[datetime.datetime] = None):
                assert type(when) is datetime.datetime and type(day) is datetime.date
                return {"when": when, "utc": when.utcoffset().total_seconds(),
                        "day": day, "next": day + datetime.timedelta(days=1),
                        "later": later}
            """, {"when": "2024-03-01T12:30:00Z", "day": "2024-02-29",
                  "later": "2024-03-02T00:00:00+02:00"})
        self.assertEqual(self.ok(run), {
            "when": "2024-03-01T12:30:00+00:00", "utc": 0.0, "day": "2024-02-29",
            "next": "2024-03-01", "later": "2024-03-02T00:00:00+02:00"})

    def test_future_annotations(self):
        run = run_wrapper("""
            from __future__ import annotations
            from datetime import datetime
            def main(b: bytes, d: datetime | None):
                return [type(b).__name__, type(d).__name__]
            """, {"b": "AA==", "d": "2020-01-01T00:00:00"})
        self.assertEqual(self.ok(run), ["bytes", "datetime"])

    def test_other_values_are_left_alone(self):
        run = run_wrapper("""
            def main(a: int, b: list, c: dict, d: str, e: bytes):
                return [type(x).__name__ for x in (a, b, c, d, e)]
            """, {"a": "not an int", "b": [1], "c": {}, "d": "s", "e": None})
        self.assertEqual(self.ok(run), ["str", "list", "dict", "str", "NoneType"])

    def test_optional_without_default_gets_none(self):
        run = run_wrapper("""
            from typing import Optional
            def main(a: Optional[int], b: str | None):
                return [a, b]
            """, {})
        self.assertEqual(self.ok(run), [None, None])

    def test_positional_only(self):
        run = run_wrapper("def main(a, b=2, /, c=3):\n    return [a, b, c]\n", {"a": 1, "c": 4})
        self.assertEqual(self.ok(run), [1, 2, 4])

    def test_keyword_only(self):
        run = run_wrapper("def main(*args, k, j=1):\n    return [args, k, j]\n", {"k": 0})
        self.assertEqual(self.ok(run), [[], 0, 1])

    def test_decorated_main(self):
        run = run_wrapper("""
            import functools
            def deco(f):
                @functools.wraps(f)
                def inner(*a, **k):
                    return f(*a, **k)
                return inner
            @deco
            def main(x: bytes):
                return len(x)
            """, {"x": "AAAA", "unknown": 1})
        self.assertEqual(self.ok(run), 3)

    def test_callable_object_main(self):
        run = run_wrapper("""
            class Main:
                def __call__(self, a, b=1):
                    return a + b
            main = Main()
            """, {"a": 1, "zzz": 0})
        self.assertEqual(self.ok(run), 2)

    def test_async_main(self):
        run = run_wrapper("""
            import asyncio
            async def main(x: int):
                await asyncio.sleep(0)
                return x * 2
            """, {"x": 21})
        self.assertEqual(self.ok(run), 42)

    def test_neighbour_import(self):
        run = run_wrapper("import helper\ndef main():\n    return helper.VALUE\n",
                          files={"helper.py": "VALUE = 'from a neighbour'\n"})
        self.assertEqual(self.ok(run), "from a neighbour")

    def test_module_name_and_dunder_main_guard(self):
        run = run_wrapper("""
            import sys
            ran = []
            if __name__ == "__main__":
                ran.append("guard")
            def main():
                return [__name__, ran, sys.modules["main"].__name__, sys.argv]
            """)
        result = self.ok(run)
        self.assertEqual(result[:3], ["main", [], "main"])
        self.assertTrue(result[3][0].endswith("main.py"))

    def test_no_bytecode_left_in_job_dir(self):
        run = run_wrapper("""
            import os, helper
            def main():
                return sorted(os.listdir(os.environ["MILLRACE_TEST_DIR"]))
            """, files={"helper.py": "X = 1\n"})
        self.assertEqual(self.ok(run), ["helper.py", "main.py"])

    def test_unicode_result(self):
        run = run_wrapper("def main():\n    return {'k\u00e9': '\u2603 \U0001f600'}\n")
        self.assertEqual(self.ok(run), {"k\u00e9": "\u2603 \U0001f600"})
        self.assertIn("\u2603".encode("utf-8"), run.channel)   # UTF-8, not \u escapes

    def test_tuples_and_int_keys(self):
        run = run_wrapper("def main():\n    return {1: (1, 2), 'f': 1.5, 'b': True}\n")
        self.assertEqual(self.ok(run), {"1": [1, 2], "f": 1.5, "b": True})

    def test_large_result(self):
        run = run_wrapper("def main():\n    return ['x' * 1000] * 3000\n")
        self.assertEqual(len(self.ok(run)), 3000)

    def test_success_path_imports_nothing_heavy(self):
        # The success path imports nothing heavy (per-job start-up cost).
        run = run_wrapper("""
            import sys
            def main(a):
                return sorted(sys.modules)
            """, {"a": [1, {"b": "c"}]})
        loaded = set(self.ok(run))
        for heavy in ("json", "re", "enum", "inspect", "traceback", "typing",
                      "importlib.util", "asyncio", "datetime", "base64"):
            self.assertNotIn(heavy, loaded)


class Failure(WrapperTestCase):
    def test_exception(self):
        run = run_wrapper("""
            def helper(x):
                raise ValueError(f"bad value {x}")

            def main(x):
                return helper(x)
            """, {"x": 7})
        error = self.failed(run, "ValueError")
        self.assertEqual(error["message"], "bad value 7")
        stack = error["stack"]
        self.assertTrue(stack.startswith("Traceback (most recent call last):\n"), stack)
        self.assertIn('main.py", line 6, in main', stack)
        self.assertIn('main.py", line 3, in helper', stack)
        self.assertIn('raise ValueError(f"bad value {x}")', stack)
        self.assertTrue(stack.endswith("ValueError: bad value 7\n"), stack)
        self.assertEqual(run.stdout, "")

    def test_exception_at_import_time(self):
        run = run_wrapper("x = 1\nraise RuntimeError('at import')\ndef main(): pass\n")
        error = self.failed(run, "RuntimeError")
        self.assertIn('main.py", line 2, in <module>', error["stack"])

    def test_chained_exception(self):
        run = run_wrapper("""
            def main():
                try:
                    {}["k"]
                except KeyError as e:
                    raise LookupError("wrapped") from e
            """)
        error = self.failed(run, "LookupError")
        self.assertIn("KeyError: 'k'", error["stack"])
        self.assertIn("direct cause", error["stack"])

    def test_custom_exception_name(self):
        run = run_wrapper("""
            class PaymentDeclined(Exception):
                pass
            def main():
                raise PaymentDeclined("card expired")
            """)
        error = self.failed(run, "PaymentDeclined")
        self.assertEqual(error["message"], "card expired")

    def test_async_exception_has_no_runner_frames(self):
        run = run_wrapper("""
            async def main():
                raise ValueError("async boom")
            """)
        error = self.failed(run, "ValueError")
        self.assertNotIn("asyncio", error["stack"])
        self.assertIn('main.py", line 3, in main', error["stack"])

    def test_system_exit(self):
        for code, expected in [("3", "status 3"), ("0", "status 0"), ("", "status 0"),
                               ("'bye'", "status 1 before returning: bye"),
                               ("True", "status 1 before returning")]:
            with self.subTest(code):
                run = run_wrapper(f"import sys\ndef main():\n    sys.exit({code})\n")
                error = self.failed(run, "SystemExit")
                self.assertIn(f"the script exited with {expected}", error["message"])
                self.assertTrue(error["message"].startswith(
                    "the script exited with status "), error)

    def test_system_exit_at_import(self):
        run = run_wrapper("raise SystemExit(5)\ndef main(): pass\n")
        error = self.failed(run, "SystemExit")
        self.assertEqual(error["message"], "the script exited with status 5 before returning")

    def test_keyboard_interrupt(self):
        run = run_wrapper("def main():\n    raise KeyboardInterrupt\n")
        self.failed(run, "KeyboardInterrupt")

    def test_missing_argument(self):
        run = run_wrapper("def main(a, b, c=1):\n    return a\n", {"a": 1})
        error = self.failed(run, "MissingArgument")
        self.assertIn("'b'", error["message"])

    def test_missing_arguments(self):
        run = run_wrapper("def main(a, *, b):\n    return a\n", {})
        error = self.failed(run, "MissingArgument")
        self.assertIn("'a'", error["message"])
        self.assertIn("'b'", error["message"])

    def test_invalid_base64(self):
        run = run_wrapper("def main(b: bytes):\n    return b\n", {"b": "not base64!"})
        error = self.failed(run, "InvalidArgument")
        self.assertIn("'b'", error["message"])

    def test_invalid_datetime(self):
        run = run_wrapper("from datetime import datetime\n"
                          "def main(t: datetime):\n    return t\n", {"t": "yesterday"})
        error = self.failed(run, "InvalidArgument")
        self.assertIn("'t'", error["message"])

    def test_set_result(self):
        run = run_wrapper("def main():\n    return {1, 2}\n")
        error = self.failed(run, "InvalidResult")
        self.assertTrue(error["message"].startswith("result is not JSON-serialisable: "), error)
        self.assertIn("set", error["message"])

    def test_nan_result(self):
        for expr in ("float('nan')", "[1, float('inf')]", "{'x': -float('inf')}"):
            with self.subTest(expr):
                run = run_wrapper(f"def main():\n    return {expr}\n")
                error = self.failed(run, "InvalidResult")
                self.assertIn("NaN or Infinity", error["message"])

    def test_circular_result(self):
        run = run_wrapper("def main():\n    a = []\n    a.append(a)\n    return a\n")
        self.failed(run, "InvalidResult")

    def test_lone_surrogate_result(self):
        run = run_wrapper("def main():\n    return '\\ud800'\n")
        error = self.failed(run, "InvalidResult")
        self.assertIn("Unicode", error["message"])

    def test_bad_dict_key(self):
        run = run_wrapper("def main():\n    return {(1, 2): 3}\n")
        self.failed(run, "InvalidResult")

    def test_no_main(self):
        run = run_wrapper("def other():\n    return 1\n")
        error = self.failed(run, "NoMainFunction")
        self.assertIn("main", error["message"])

    def test_main_not_callable(self):
        run = run_wrapper("main = 3\n")
        self.failed(run, "NoMainFunction")

    def test_syntax_error(self):
        run = run_wrapper("import os\n\ndef main(:\n    pass\n")
        error = self.failed(run, "SyntaxError")
        self.assertIn("line 3", error["message"])
        self.assertIn('main.py", line 3', error["stack"])
        self.assertNotIn("Traceback", error["stack"])   # only the script's own location

    def test_missing_script(self):
        run = run_wrapper("", env={"MILLRACE_SCRIPT": "/nonexistent/main.py"})
        self.failed(run, "FileNotFoundError")

    def test_invalid_args(self):
        for stdin, what in [(b"[1, 2]", "JSON object"), (b"{bad json", "not valid JSON"),
                            (b'{"a": 1} x', "not valid JSON"), (b"\xff\xfe", "UTF-8"),
                            (b'"text"', "JSON object")]:
            with self.subTest(stdin):
                run = run_wrapper("def main(**kw):\n    return kw\n", stdin)
                error = self.failed(run, "InvalidArguments")
                self.assertIn(what, error["message"])

    def test_str_of_exception_raises(self):
        run = run_wrapper("""
            class Weird(Exception):
                def __str__(self):
                    raise RuntimeError("no")
            def main():
                raise Weird()
            """)
        self.failed(run, "Weird")


class Channel(WrapperTestCase):
    def test_prints_go_to_stdout_never_to_the_channel(self):
        run = run_wrapper("""
            import sys, os
            print('{"ok": true, "result": 42}')
            def main():
                print("hello from main")
                print("to stderr", file=sys.stderr)
                os.write(1, b"raw fd 1\\n")
                return 1
            """)
        self.assertEqual(run.channel, b'{"ok": true, "result": 1}')
        self.assertIn('{"ok": true, "result": 42}', run.stdout)
        self.assertIn("hello from main", run.stdout)
        self.assertIn("raw fd 1", run.stdout)
        self.assertIn("to stderr", run.stderr)

    def test_subprocess_does_not_inherit_the_channel(self):
        run = run_wrapper("""
            import os, subprocess, sys
            def main():
                fds = sorted(int(n) for n in os.listdir("/proc/self/fd"))
                extra = [fd for fd in fds if fd > 2]
                links = {}
                for fd in extra:
                    try:
                        links[fd] = os.readlink(f"/proc/self/fd/{fd}")
                    except OSError:
                        pass               # the listdir fd itself
                probe = ("import os, sys\\n"
                         "alive = []\\n"
                         "for fd in map(int, sys.argv[1:]):\\n"
                         "    try:\\n"
                         "        os.fstat(fd)\\n"
                         "        alive.append(fd)\\n"
                         "    except OSError:\\n"
                         "        pass\\n"
                         "print(alive)\\n")
                # close_fds=False: whatever is inheritable crosses exec.
                child = subprocess.run([sys.executable, "-I", "-c", probe] +
                                       [str(fd) for fd in links],
                                       close_fds=False, capture_output=True, text=True)
                shell = subprocess.run(["/bin/sh", "-c", "ls /proc/$$/fd"], close_fds=False,
                                       capture_output=True, text=True)
                return {"links": links, "child_alive": child.stdout.strip(),
                        "shell_fds": sorted(int(x) for x in shell.stdout.split())}
            """)
        result = self.ok(run)
        links = {int(k): v for k, v in result["links"].items()}
        channel_fds = [fd for fd, target in links.items() if target.startswith("pipe:")]
        self.assertEqual(len(channel_fds), 1, result)      # the private copy
        self.assertGreaterEqual(channel_fds[0], 100, result)
        self.assertNotIn(3, links, result)                  # fd 3 is closed
        self.assertEqual(result["child_alive"], "[]", result)
        self.assertNotIn(channel_fds[0], result["shell_fds"], result)
        self.assertNotIn(3, result["shell_fds"], result)

    def test_garbage_on_fd_3_cannot_corrupt_the_channel(self):
        run = run_wrapper("""
            import os
            try:
                os.write(3, b"garbage at import")
                at_import = "wrote"
            except OSError as e:
                at_import = e.errno
            def main():
                try:
                    os.write(3, b"garbage in main")
                    in_main = "wrote"
                except OSError as e:
                    in_main = e.errno
                return [at_import, in_main]
            """)
        import errno
        self.assertEqual(self.ok(run), [errno.EBADF, errno.EBADF])
        self.assertNotIn(b"garbage", run.channel)

    def test_fd_3_reused_by_the_script(self):
        # The script's own first open() may get fd 3; writing to it is harmless.
        run = run_wrapper("""
            import os
            def main():
                fd = os.open("own.txt", os.O_WRONLY | os.O_CREAT)
                os.write(3, b"garbage")
                os.close(fd)
                return [fd, open("own.txt").read()]
            """)
        self.assertEqual(self.ok(run), [3, "garbage"])

    def test_script_closing_the_channel_exits_1(self):
        run = run_wrapper("""
            import os
            def main():
                os.closerange(3, 65536)
                return "done"
            """)
        self.assertEqual(run.rc, 1, run)
        self.assertEqual(run.channel, b"")
        self.assertIn("result", run.stderr)

    def test_script_replacing_the_channel_fd(self):
        # The script dup2s one of its files over the channel's number: the
        # wrapper must not write the result into that file.
        run = run_wrapper("""
            import os
            def main():
                chan = [int(n) for n in os.listdir("/proc/self/fd")
                        if int(n) > 2 and os.path.exists(f"/proc/self/fd/{n}")
                        and os.readlink(f"/proc/self/fd/{n}").startswith("pipe:")][0]
                fd = os.open("victim.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(fd, chan)
                return "done"
            """, files={})
        self.assertEqual(run.rc, 1, run)
        self.assertEqual(run.channel, b"")

    def test_forked_child_returning_from_main_does_not_report(self):
        run = run_wrapper("""
            import os
            def main():
                pid = os.fork()
                if pid == 0:
                    return "from the child"     # returns into the wrapper's frames
                os.waitpid(pid, 0)
                return "from the parent"
            """)
        self.assertEqual(run.channel, b'{"ok": true, "result": "from the parent"}')

    def test_os_exit_leaves_the_channel_empty(self):
        # The worker must treat EOF without a document as a failure.
        run = run_wrapper("import os\ndef main():\n    os._exit(4)\n")
        self.assertEqual(run.rc, 4)
        self.assertEqual(run.channel, b"")

    def test_no_result_fd_exits_1(self):
        run = run_wrapper("def main():\n    return 1\n", result_fd=None,
                          env={"MILLRACE_RESULT_FD": "987"})
        self.assertEqual(run.rc, 1, run)
        self.assertIn("no result channel", run.stderr)

    def test_result_fd_override(self):
        run = run_wrapper("def main():\n    return 'fd 7'\n", result_fd=7,
                          env={"MILLRACE_RESULT_FD": "7"})
        self.assertEqual(self.ok(run), "fd 7")

    def test_stdin_is_closed_for_the_script(self):
        run = run_wrapper("""
            def main():
                try:
                    return input()
                except EOFError:
                    return "eof"
            """, b'{"x": 1}')
        self.assertEqual(self.ok(run), "eof")

    def test_environment_overrides_are_not_visible(self):
        run = run_wrapper("import os\ndef main():\n"
                          "    return [k for k in os.environ if k.startswith('MILLRACE_')"
                          " and k != 'MILLRACE_TEST_DIR']\n")
        self.assertEqual(self.ok(run), [])


class Precompiled(WrapperTestCase):
    """The worker may run a precompiled wrapper (`python3 -I -u wrapper.pyc`,
    built at install time) to skip compiling wrapper.py on every job."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="millrace-wrapper-pyc-")
        cls.pyc = os.path.join(cls.dir, "wrapper.pyc")
        py_compile.compile(WRAPPER, cfile=cls.pyc, doraise=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_success(self):
        run = run_wrapper("def main(a: bytes):\n    return a\n", {"a": "AQI="}, wrapper=self.pyc)
        self.assertEqual(self.ok(run), "AQI=")

    def test_failure_stack_has_no_wrapper_frames(self):
        run = run_wrapper("def main():\n    raise ValueError('x')\n", wrapper=self.pyc)
        error = self.failed(run, "ValueError")
        self.assertIn('main.py", line 2, in main', error["stack"])


class InProcessCodec(unittest.TestCase):
    """The wrapper's _json-based codec agrees with the json package."""

    @classmethod
    def setUpClass(cls):
        sys.dont_write_bytecode = True      # no __pycache__ in runtime/python
        sys.path.insert(0, RUNTIME_DIR)
        import wrapper
        cls.w = wrapper

    VALUES = [None, True, False, 0, -1, 10 ** 30, 1.5, -0.0, 1e300, "", "a\"b\\c\n\t\x00",
              "\u00e9\u2603\U0001f600", [], {}, [1, [2, [3, {"a": None}]]],
              {"k": {"nested": [1.25, "x"]}, "": 0}]

    def test_dumps_matches_json(self):
        for v in self.VALUES:
            with self.subTest(v):
                self.assertEqual(self.w._dumps(v), json.dumps(v, ensure_ascii=False,
                                                              allow_nan=False))

    def test_loads_matches_json(self):
        for v in self.VALUES:
            with self.subTest(v):
                text = json.dumps(v)
                self.assertEqual(self.w._loads(text), json.loads(text))
                self.assertEqual(self.w._loads(" \n" + text + "\r\n "), json.loads(text))

    def test_loads_rejects_what_json_rejects(self):
        for text in ["", "{", "[1,]", "{'a': 1}", "1 2", '"\x01"', "{} {}", "nul"]:
            with self.subTest(text):
                with self.assertRaises(ValueError):
                    json.loads(text)
                with self.assertRaises(ValueError):
                    self.w._loads(text)


if __name__ == "__main__":
    unittest.main()
