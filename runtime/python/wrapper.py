"""Millrace python3 runtime: run one job's ``main`` and report its result.

The worker starts this inside the job's sandbox (cwd /job) as

    /usr/bin/python3 -I -u /opt/millrace/python/wrapper.py

with the job's arguments as one JSON object on stdin and the write end of
the result channel on fd 3.  It loads /job/main.py as the module ``main``,
calls ``main(**args)`` and writes exactly one UTF-8 JSON document to the
channel:

    {"ok": true,  "result": <value>}
    {"ok": false, "error": {"name": ..., "message": ..., "stack": ...}}

stdout and stderr are the job's logs and never carry the result.  The exit
status is 0 whenever the channel was written (the worker decides from the
channel) and 1 only when it could not be written at all.

Overrides (for tests): MILLRACE_SCRIPT (default /job/main.py) and
MILLRACE_RESULT_FD (default 3).

Start-up cost matters (this runs once per job), so the wrapper imports
nothing beyond what the interpreter has already loaded on the success path:
JSON goes through the C accelerator ``_json`` directly instead of the
``json`` package (which drags in ``re`` and ``enum``), the script is loaded
with the import system's own frozen loader instead of ``importlib.util``,
and ``main``'s parameters are read from its code object instead of
``inspect``.  ``traceback``, ``asyncio``, ``inspect`` and the date/base64
helpers are imported only when a job needs them.
"""

import os
import sys

# Captured before user code runs, so a script that monkeypatches os cannot
# redirect or suppress the result write.
_os_write = os.write
_os_close = os.close
_os_fstat = os.fstat

_SCRIPT_DEFAULT = "/job/main.py"
_RESULT_FD_DEFAULT = 3
_PRIVATE_FD_MIN = 1000          # where the channel is moved to, if the fd limit allows
_CO_VARKEYWORDS = 0x08
_FunctionType = type(lambda: None)
_NoneType = type(None)
_WRAPPER_FILE = (lambda: None).__code__.co_filename


# --------------------------------------------------------------------------
# Errors the wrapper itself reports (their class name is the error name).

class NoMainFunction(Exception):
    pass


class MissingArgument(Exception):
    pass


class InvalidArgument(Exception):
    pass


class InvalidArguments(Exception):
    pass


class InvalidResult(Exception):
    pass


# --------------------------------------------------------------------------
# JSON through _json (C) with the json package as fallback.

_JSON_CONSTANTS = {
    "-Infinity": float("-inf"),
    "Infinity": float("inf"),
    "NaN": float("nan"),
}
_JSON_WS = " \t\n\r"


def _result_default(o):
    """json ``default`` hook: bytes -> base64, datetime/date -> ISO 8601."""
    if isinstance(o, (bytes, bytearray, memoryview)):
        import binascii
        return binascii.b2a_base64(bytes(o), newline=False).decode("ascii")
    dt = sys.modules.get("datetime")
    if dt is not None and isinstance(o, dt.date):   # datetime is a date
        return o.isoformat()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _dumps(value):
    """``json.dumps(value, default=_result_default, allow_nan=False,
    ensure_ascii=False)``, byte for byte."""
    try:
        import _json
        encode = _json.make_encoder(
            {}, _result_default, _json.encode_basestring, None,
            ": ", ", ", False, False, False)
    except (ImportError, AttributeError, TypeError):
        import json
        return json.dumps(value, default=_result_default, allow_nan=False,
                          ensure_ascii=False)
    return "".join(encode(value, 0))


class _ScanContext:
    # The attributes _json.make_scanner reads (json.decoder.JSONDecoder's).
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _JSON_CONSTANTS.__getitem__


def _loads(text):
    """``json.loads(text)`` for a str; raises ValueError on bad input."""
    try:
        import _json
        scan = _json.make_scanner(_ScanContext)
    except (ImportError, AttributeError, TypeError):
        import json
        return json.loads(text)
    n = len(text)
    i = 0
    while i < n and text[i] in _JSON_WS:
        i += 1
    try:
        value, end = scan(text, i)
        while end < n and text[end] in _JSON_WS:
            end += 1
        if end == n:
            return value
    except RecursionError:
        raise
    except Exception:
        # StopIteration, or SystemError: _json reports syntax errors through
        # json.decoder.JSONDecodeError and fails oddly while that module is
        # not loaded.  Let the json package produce its usual message.
        pass
    import json
    return json.loads(text)


# --------------------------------------------------------------------------
# The result channel.

def _take_channel():
    """Move the result fd out of the script's way: dup it to a private high,
    close-on-exec fd and close the original.  Returns (fd, identity)."""
    fd = int(os.environ.pop("MILLRACE_RESULT_FD", _RESULT_FD_DEFAULT))
    st = _os_fstat(fd)                       # OSError if it is not open
    chan = -1
    try:
        import fcntl
        for low in (_PRIVATE_FD_MIN, 100):
            try:
                chan = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)
                break
            except OSError:                  # EINVAL: above RLIMIT_NOFILE
                pass
    except ImportError:
        pass
    if chan < 0:
        chan = os.dup(fd)                    # non-inheritable by default
    os.set_inheritable(chan, False)
    _os_close(fd)
    return chan, (st.st_dev, st.st_ino)


def _write_channel(chan, identity, doc):
    """Write the document and close the channel; False if that failed."""
    try:
        st = _os_fstat(chan)
        if (st.st_dev, st.st_ino) != identity:
            # The script closed the channel and the number was reused.
            _complain("the result channel was closed or replaced by the script")
            return False
        view = memoryview(doc)
        while view:
            n = _os_write(chan, view)
            view = view[n:]
        _os_close(chan)
        return True
    except OSError as e:
        _complain(f"cannot write the result: {e}")
        return False


def _complain(message):
    """A line on the job's stderr, for the cases the channel cannot carry."""
    try:
        sys.stderr.write(f"millrace wrapper: {message}\n")
        sys.stderr.flush()
    except Exception:
        pass


# --------------------------------------------------------------------------
# Arguments.

def _read_args():
    stdin = sys.stdin
    data = b""
    if stdin is not None:
        data = stdin.buffer.read()
    # Treat stdin as closed from here on: the script (and its children) see
    # /dev/null, so input() gets EOF instead of blocking.
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        if null != 0:
            os.dup2(null, 0)
            _os_close(null)
    except OSError:
        pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidArguments(f"the job's arguments are not valid UTF-8: {e}") from None
    if not text.strip(_JSON_WS):
        return {}
    try:
        args = _loads(text)
    except (ValueError, RecursionError) as e:
        raise InvalidArguments(f"the job's arguments are not valid JSON: {e}") from None
    if not isinstance(args, dict):
        raise InvalidArguments("the job's arguments must be a JSON object, not "
                               f"{_json_kind(args)}")
    return args


def _json_kind(v):
    if isinstance(v, list):
        return "an array"
    if isinstance(v, str):
        return "a string"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    return "a number"


def _parameters(fn):
    """([(name, kind, has_default, default, annotation)], has_varkw) where
    kind is 0 positional-only, 1 positional-or-keyword, 2 keyword-only.
    *args is left out.  None instead of the list: pass every key."""
    if type(fn) is _FunctionType and getattr(fn, "__wrapped__", None) is None:
        code = fn.__code__
        npos = code.co_argcount
        nkw = code.co_kwonlyargcount
        nposonly = code.co_posonlyargcount
        names = code.co_varnames
        defaults = fn.__defaults__ or ()
        kwdefaults = fn.__kwdefaults__ or {}
        ann = fn.__annotations__
        first_default = npos - len(defaults)
        params = []
        for i in range(npos):
            name = names[i]
            has = i >= first_default
            params.append((name, 0 if i < nposonly else 1, has,
                           defaults[i - first_default] if has else None,
                           ann.get(name)))
        for i in range(npos, npos + nkw):
            name = names[i]
            has = name in kwdefaults
            params.append((name, 2, has, kwdefaults.get(name), ann.get(name)))
        return params, bool(code.co_flags & _CO_VARKEYWORDS)
    # Decorated functions, callable objects, partials: let inspect work it out.
    import inspect
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None, True
    kinds = {inspect.Parameter.POSITIONAL_ONLY: 0,
             inspect.Parameter.POSITIONAL_OR_KEYWORD: 1,
             inspect.Parameter.KEYWORD_ONLY: 2}
    params = []
    varkw = False
    for p in sig.parameters.values():
        if p.kind == inspect.Parameter.VAR_KEYWORD:
            varkw = True
        elif p.kind in kinds:
            has = p.default is not inspect.Parameter.empty
            a = p.annotation
            params.append((p.name, kinds[p.kind], has, p.default if has else None,
                           None if a is inspect.Parameter.empty else a))
    return params, varkw


def _resolve(annotation, fn):
    """(target type or None, optional?) for an annotation: unwraps Optional[X],
    Union[X, None], X | None and Annotated[X, ...]; evaluates string
    annotations (from __future__ import annotations) in main's globals."""
    a = annotation
    if a is None:
        return None, False
    if isinstance(a, str):
        g = getattr(getattr(fn, "__wrapped__", fn), "__globals__", None)
        try:
            a = eval(a, g if isinstance(g, dict) else {})
        except Exception:
            return None, False
    if getattr(a, "__metadata__", None) is not None:     # Annotated[X, ...]
        a = getattr(a, "__origin__", a)
    args = getattr(a, "__args__", None)
    if args is not None and type(args) is tuple:
        typing = sys.modules.get("typing")
        ta = type(a)
        if ((typing is not None and getattr(a, "__origin__", None) is typing.Union)
                or (ta.__name__ == "UnionType" and ta.__module__ == "types")):
            rest = [x for x in args if x is not _NoneType]
            return (rest[0] if len(rest) == 1 else None), len(rest) < len(args)
        return a, False
    return a, (a is _NoneType)


def _convert(value, target, name):
    """JSON value -> the annotated type, for bytes / datetime / date."""
    if not isinstance(value, str) or target is None:
        return value
    if target is bytes:
        import binascii
        s = value.translate(_B64_WS)
        try:
            return binascii.a2b_base64(s, strict_mode=True)
        except ValueError as e:
            raise InvalidArgument(f"argument '{name}' must be a base64 string: {e}") from None
    dt = sys.modules.get("datetime")
    if dt is None or not isinstance(target, type):
        return value
    if issubclass(target, dt.datetime):
        s = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
        try:
            return target.fromisoformat(s)
        except ValueError as e:
            raise InvalidArgument(
                f"argument '{name}' must be an ISO 8601 date-time string: {e}") from None
    if issubclass(target, dt.date):
        try:
            return target.fromisoformat(value)
        except ValueError:
            pass
        s = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
        try:
            return dt.datetime.fromisoformat(s).date()
        except ValueError as e:
            raise InvalidArgument(
                f"argument '{name}' must be an ISO 8601 date string: {e}") from None
    return value


_B64_WS = {ord(c): None for c in " \t\n\r\v\f"}


def _bind(fn, args):
    params, varkw = _parameters(fn)
    if params is None:
        return (), dict(args)
    posargs = []
    kwargs = {}
    missing = []
    used = set()
    for name, kind, has_default, default, annotation in params:
        used.add(name)
        if name in args:
            target, _ = _resolve(annotation, fn)
            value = _convert(args[name], target, name)
        elif has_default:
            if kind != 0:
                continue
            value = default
        else:
            # Optional[X] without a default is "not required" in the schema,
            # so a missing key means None rather than an error.
            if _resolve(annotation, fn)[1]:
                value = None
            else:
                missing.append(name)
                continue
        if kind == 0:
            posargs.append(value)
        else:
            kwargs[name] = value
    if missing:
        if len(missing) == 1:
            raise MissingArgument(f"missing required argument '{missing[0]}'")
        raise MissingArgument("missing required arguments: "
                              + ", ".join(f"'{m}'" for m in missing))
    if varkw:
        for k, v in args.items():
            if k not in used:
                kwargs[k] = v
    return posargs, kwargs


# --------------------------------------------------------------------------
# Running the job.

def _load(script):
    sys.argv = [script]
    sys.dont_write_bytecode = True          # leave no __pycache__ in /job
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        bootstrap = sys.modules["_frozen_importlib"]
        external = sys.modules["_frozen_importlib_external"]
        loader = external.SourceFileLoader("main", script)
        spec = external.spec_from_file_location("main", script, loader=loader)
        module = bootstrap.module_from_spec(spec)
    except (KeyError, AttributeError):
        import importlib.machinery
        import importlib.util
        loader = importlib.machinery.SourceFileLoader("main", script)
        spec = importlib.util.spec_from_file_location("main", script, loader=loader)
        module = importlib.util.module_from_spec(spec)
    sys.modules["main"] = module
    loader.exec_module(module)
    return module


_used_asyncio = False


def _run():
    """Everything that runs on behalf of the script; returns the ok document."""
    global _used_asyncio
    args = _read_args()
    script = os.environ.pop("MILLRACE_SCRIPT", _SCRIPT_DEFAULT)
    module = _load(script)
    fn = getattr(module, "main", None)
    if fn is None:
        raise NoMainFunction(f"the script {script} defines no function named main")
    if not callable(fn):
        raise NoMainFunction(f"main in {script} is not a function "
                             f"(it is {type(fn).__name__})")
    posargs, kwargs = _bind(fn, args)
    result = fn(*posargs, **kwargs)
    if getattr(type(result), "__await__", None) is not None:   # async def main
        import asyncio
        _used_asyncio = True

        async def _await(aw):
            return await aw
        result = asyncio.run(_await(result))
    del fn, posargs, kwargs, args
    try:
        text = _dumps(result)
    except (TypeError, ValueError, RecursionError) as e:
        why = str(e)
        if why.startswith("Out of range float"):
            why = f"it contains NaN or Infinity ({why})"
        raise InvalidResult(f"result is not JSON-serialisable: {why}") from None
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidResult(f"result is not valid Unicode: {e}") from None
    return b'{"ok": true, "result": ' + body + b"}"


def _clean(s):
    # Lone surrogates (str() of odd exceptions) cannot be sent as UTF-8.
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _is_wrapper_frame(filename, asyncio_dir):
    return (filename == _WRAPPER_FILE
            or filename.startswith("<frozen importlib._bootstrap")
            or (asyncio_dir is not None and filename.startswith(asyncio_dir)))


def _format_stack(exc):
    """Python's usual traceback text, minus the leading frames that belong to
    the wrapper (and the import machinery / asyncio runner it called)."""
    import traceback
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__,
                                      capture_locals=False)
    asyncio_dir = None
    if _used_asyncio and "asyncio" in sys.modules:
        asyncio_dir = os.path.dirname(sys.modules["asyncio"].__file__) + os.sep
    seen = set()
    todo = [te]
    while todo:
        t = todo.pop()
        if t is None or id(t) in seen:
            continue
        seen.add(id(t))
        frames = list(t.stack)
        k = 0
        while k < len(frames) and _is_wrapper_frame(frames[k].filename, asyncio_dir):
            k += 1
        if k:
            t.stack = traceback.StackSummary.from_list(frames[k:])
        todo.append(t.__cause__)
        todo.append(t.__context__)
        todo.extend(getattr(t, "exceptions", None) or ())
    return "".join(te.format())


def _failure(exc):
    name = type(exc).__name__
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            status, extra = 0, ""
        elif isinstance(code, int):
            status, extra = int(code), ""
        else:
            status, extra = 1, f": {code}"
        message = f"the script exited with status {status} before returning{extra}"
    else:
        try:
            message = str(exc)
        except BaseException as e:
            message = f"<str() of the exception failed: {type(e).__name__}>"
    try:
        stack = _format_stack(exc)
    except BaseException as e:
        stack = f"<the traceback could not be formatted: {type(e).__name__}>\n"
    error = {"name": _clean(name), "message": _clean(message), "stack": _clean(stack)}
    return ('{"ok": false, "error": ' + _dumps(error) + "}").encode("utf-8")


def main():
    pid = os.getpid()
    try:
        chan, identity = _take_channel()
    except (OSError, ValueError) as e:
        _complain(f"no result channel: {e}")
        return 1
    try:
        doc = _run()
    except BaseException as e:               # noqa: everything is the job's failure
        doc = None
        exc = e
    # From here on a Ctrl-C must not cut the document short.
    try:
        import _signal
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    except Exception:
        pass
    if doc is None:
        try:
            doc = _failure(exc)
        except BaseException as e:
            # Last resort; the name of an exception class needs no escaping.
            doc = ('{"ok": false, "error": {"name": "WrapperError", "message": '
                   f'"could not report the failure: {type(e).__name__}", '
                   '"stack": ""}}').encode("utf-8")
        del exc
    if os.getpid() != pid:
        # A process the script forked returned from main (or raised) into the
        # wrapper: only the original process reports.
        os._exit(0)
    ok = _write_channel(chan, identity, doc)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
