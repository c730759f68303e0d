"""Tests for runtime/python/infer_schema.py (stdlib unittest).

Run from this folder:  /usr/bin/python3 -B -m unittest -v test_infer_schema
MILLRACE_PYTHON_RUNTIME_DIR points at runtime/python (ctest sets it; the
default is found relative to this file).
"""

import json
import os
import subprocess
import sys
import textwrap
import unittest

RUNTIME_DIR = os.environ.get("MILLRACE_PYTHON_RUNTIME_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "python"))
PYTHON = os.environ.get("MILLRACE_PYTHON", "/usr/bin/python3")
INFER = os.path.join(RUNTIME_DIR, "infer_schema.py")

sys.dont_write_bytecode = True          # no __pycache__ in runtime/python
sys.path.insert(0, RUNTIME_DIR)
import infer_schema  # noqa: E402

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def P(schema=None, **extra):
    """A property: the type schema plus Windmill's empty description."""
    prop = dict(schema or {})
    prop["description"] = ""
    prop.update(extra)
    return prop


def S(props, required, order=None, kwargs=False):
    doc = {"$schema": DIALECT, "type": "object", "properties": props,
           "required": required, "order": order if order is not None else list(props)}
    if kwargs:
        doc["additionalProperties"] = True
    return doc


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
OBJ = {"type": "object"}
ARR = {"type": "array", "items": {}}
B64 = {"type": "string", "contentEncoding": "base64"}
DT = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}

PRELUDE = ("import datetime\nfrom datetime import date\nfrom typing import *\n"
           "import typing\n")

# (name, source after PRELUDE, expected schema)
TABLE = [
    ("str", "def main(a: str): pass", S({"a": P(STR)}, ["a"])),
    ("int", "def main(a: int): pass", S({"a": P(INT)}, ["a"])),
    ("float", "def main(a: float): pass", S({"a": P(NUM)}, ["a"])),
    ("bool", "def main(a: bool): pass", S({"a": P(BOOL)}, ["a"])),
    ("dict", "def main(a: dict): pass", S({"a": P(OBJ)}, ["a"])),
    ("Dict[str, int]", "def main(a: Dict[str, int]): pass", S({"a": P(OBJ)}, ["a"])),
    ("dict[str, Any]", "def main(a: dict[str, Any]): pass", S({"a": P(OBJ)}, ["a"])),
    ("list", "def main(a: list): pass", S({"a": P(ARR)}, ["a"])),
    ("List[str]", "def main(a: List[str]): pass",
     S({"a": P({"type": "array", "items": STR})}, ["a"])),
    ("list[int]", "def main(a: list[int]): pass",
     S({"a": P({"type": "array", "items": INT})}, ["a"])),
    ("List[List[float]]", "def main(a: List[List[float]]): pass",
     S({"a": P({"type": "array", "items": {"type": "array", "items": NUM}})}, ["a"])),
    ("Literal strings", 'def main(a: Literal["a", "b"]): pass',
     S({"a": P({"type": "string", "enum": ["a", "b"]})}, ["a"])),
    ("Literal integers", "def main(a: Literal[1, 2, 3]): pass",
     S({"a": P({"type": "integer", "enum": [1, 2, 3]})}, ["a"])),
    ("typing.Literal", 'def main(a: typing.Literal["x"]): pass',
     S({"a": P({"type": "string", "enum": ["x"]})}, ["a"])),
    ("List[Literal]", 'def main(a: List[Literal["a", "b"]]): pass',
     S({"a": P({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}})}, ["a"])),
    ("bytes", "def main(a: bytes): pass", S({"a": P(B64)}, ["a"])),
    ("datetime", "from datetime import datetime\ndef main(a: datetime): pass",
     S({"a": P(DT)}, ["a"])),
    ("datetime.datetime", "def main(a: datetime.datetime): pass", S({"a": P(DT)}, ["a"])),
    ("date", "def main(a: date): pass", S({"a": P(DATE)}, ["a"])),
    ("datetime.date", "def main(a: datetime.date): pass", S({"a": P(DATE)}, ["a"])),
    ("Optional without default", "def main(a: Optional[str]): pass", S({"a": P(STR)}, [])),
    ("Union[T, None]", "def main(a: Union[int, None]): pass", S({"a": P(INT)}, [])),
    ("T | None", "def main(a: int | None): pass", S({"a": P(INT)}, [])),
    ("None | T", "def main(a: None | bytes): pass", S({"a": P(B64)}, [])),
    ("Optional[List[int]]", "def main(a: Optional[List[int]]): pass",
     S({"a": P({"type": "array", "items": INT})}, [])),
    ("typing.Optional[typing.List[str]]",
     "def main(a: typing.Optional[typing.List[str]]): pass",
     S({"a": P({"type": "array", "items": STR})}, [])),
    ("Union of two types", "def main(a: Union[int, str], b: int | str | None): pass",
     S({"a": P(), "b": P()}, ["a"])),
    ("no annotation", "def main(a, b): pass", S({"a": P(), "b": P()}, ["a", "b"])),
    ("Any", "def main(a: Any): pass", S({"a": P()}, ["a"])),
    ("class is a resource type",
     "class MyResource:\n    pass\ndef main(db: MyResource): pass",
     S({"db": P({"type": "object", "format": "resource-my_resource"})}, ["db"])),
    ("lowercase TypedDict resource",
     "class postgresql(TypedDict):\n    host: str\ndef main(db: postgresql): pass",
     S({"db": P({"type": "object", "format": "resource-postgresql"})}, ["db"])),
    ("acronyms in resource names",
     "def main(a: HTTPClient, b: S3Object, c: wmill.GcpServiceAccount): pass",
     S({"a": P({"type": "object", "format": "resource-http_client"}),
        "b": P({"type": "object", "format": "resource-s3_object"}),
        "c": P({"type": "object", "format": "resource-gcp_service_account"})},
       ["a", "b", "c"])),
    ("literal defaults",
     'def main(a: int = 5, b="x", c: float = -1.5, d=(1, 2), e=None, '
     'f=[1, {"k": True}], g=-7, h=b"hi", i={"n": None}): pass',
     S({"a": P(INT, default=5), "b": P(default="x"), "c": P(NUM, default=-1.5),
        "d": P(default=[1, 2]), "e": P(default=None), "f": P(default=[1, {"k": True}]),
        "g": P(default=-7), "h": P(default="aGk="), "i": P(default={"n": None})}, [])),
    ("non-literal defaults",
     "X = 3\ndef main(a: datetime.datetime = datetime.datetime.now(), b=X, "
     "c: int = 1 + 2, d=1e999, e=1j): pass",
     S({"a": P(DT), "b": P(), "c": P(INT), "d": P(), "e": P()}, [])),
    ("Optional with default", "def main(a: Optional[int] = 3): pass",
     S({"a": P(INT, default=3)}, [])),
    ("keyword-only", 'def main(a, *, b: int, c: str = "x"): pass',
     S({"a": P(), "b": P(INT), "c": P(STR, default="x")}, ["a", "b"])),
    ("positional-only", "def main(a: int, b: str = 'y', /, c: bool = False): pass",
     S({"a": P(INT), "b": P(STR, default="y"), "c": P(BOOL, default=False)}, ["a"])),
    ("*args is ignored", "def main(a: int, *rest: str): pass", S({"a": P(INT)}, ["a"])),
    ("**kwargs", "def main(a: int, **kw): pass", S({"a": P(INT)}, ["a"], kwargs=True)),
    ("*args and **kwargs only", "def main(*args, **kwargs): pass", S({}, [], kwargs=True)),
    ("no parameters", "def main(): return 1", S({}, [])),
    ("async main", "async def main(a: str, b: int = 2): pass",
     S({"a": P(STR), "b": P(INT, default=2)}, ["a"])),
    ("string annotations", 'def main(a: "int", b: "Optional[List[str]]"): pass',
     S({"a": P(INT), "b": P({"type": "array", "items": STR})}, ["a"])),
    ("Annotated", 'def main(a: Annotated[int, "meta"]): pass', S({"a": P(INT)}, ["a"])),
    ("the last main wins", "def main(a: int): pass\ndef main(b: str): pass",
     S({"b": P(STR)}, ["b"])),
    ("decorated main", "import functools\n@functools.lru_cache\ndef main(a: int): pass",
     S({"a": P(INT)}, ["a"])),
    ("order is signature order",
     "def main(z: int, a: str = 'a', /, m=1, *, b: bool, y=None): pass",
     S({"z": P(INT), "a": P(STR, default="a"), "m": P(default=1), "b": P(BOOL),
        "y": P(default=None)}, ["z", "b"], order=["z", "a", "m", "b", "y"])),
]


class InferTable(unittest.TestCase):
    def test_table_is_big_enough(self):
        self.assertGreaterEqual(len(TABLE), 25)

    def test_table(self):
        for name, source, expected in TABLE:
            with self.subTest(name):
                got = infer_schema.infer(PRELUDE + textwrap.dedent(source) + "\n")
                self.assertEqual(got, expected)
                # what the CLI would print must be plain JSON
                self.assertEqual(json.loads(json.dumps(got)), expected)

    def test_accepts_bytes_with_a_coding_cookie(self):
        src = "# -*- coding: latin-1 -*-\ndef main(a='\xe9'): pass\n".encode("latin-1")
        self.assertEqual(infer_schema.infer(src),
                         S({"a": P(default="\xe9")}, []))

    def test_additional_properties_only_with_kwargs(self):
        self.assertNotIn("additionalProperties", infer_schema.infer("def main(a): pass"))


class InferErrors(unittest.TestCase):
    def error(self, source):
        with self.assertRaises(infer_schema.SchemaError) as cm:
            infer_schema.infer(source)
        return cm.exception

    def test_no_main(self):
        for source in ["x = 1\n", "def other(a): pass\n", "main = lambda a: a\n",
                       "class C:\n    def main(self, a): pass\n",
                       "def outer():\n    def main(a): pass\n", ""]:
            with self.subTest(source):
                e = self.error(source)
                self.assertEqual(e.message, "no main function")
                self.assertIsNone(e.line)
                self.assertEqual(e.as_json(), {"error": {"message": "no main function"}})

    def test_syntax_error_has_line(self):
        e = self.error("import os\n\ndef main(a: int:\n    pass\n")
        self.assertEqual(e.line, 3)
        self.assertTrue(e.message)
        self.assertEqual(e.as_json()["error"]["line"], 3)

    def test_indentation_error_has_line(self):
        e = self.error("def main():\n    x = 1\n      y = 2\n")
        self.assertEqual(e.line, 3)

    def test_deeply_nested_expression_is_an_error(self):
        # 1,000 levels of parentheses: the parser refuses (SyntaxError).
        e = self.error("x = " + "(" * 1000 + "1" + ")" * 1000 + "\ndef main(): pass\n")
        self.assertEqual(e.line, 1)

    def test_very_long_chain_is_an_error(self):
        # 100,000 chained attribute accesses: RecursionError while building the AST.
        e = self.error("x = a" + ".b" * 100000 + "\ndef main(): pass\n")
        self.assertTrue(e.message)

    def test_huge_unary_chain_is_an_error(self):
        e = self.error("x = " + "-" * 100000 + "1\ndef main(): pass\n")
        self.assertTrue(e.message)

    def test_null_bytes(self):
        e = self.error("def main(a): pass\n\0\n")
        self.assertTrue(e.message)

    def test_duplicate_parameter(self):
        e = self.error("def main(a, a): pass\n")
        self.assertIn("duplicate argument 'a'", e.message)
        self.assertEqual(e.line, 1)

    def test_deep_default_is_not_fatal(self):
        # 150 nested lists parse; the default is kept as it is a literal.
        src = "def main(a=" + "[" * 150 + "]" * 150 + "): pass\n"
        got = infer_schema.infer(src)
        self.assertIn("default", got["properties"]["a"])


class Degrades(unittest.TestCase):
    """Odd but valid annotations give a usable schema rather than an error."""

    def test_unparsable_string_annotation_is_any(self):
        deep = "List[" * 1000 + "int" + "]" * 1000
        for ann in ["not an expression!", deep, "x\0y"]:
            with self.subTest(ann[:20]):
                got = infer_schema.infer(f"def main(a: {ann!r}): pass\n")
                self.assertEqual(got, S({"a": P()}, ["a"]))

    def test_long_union_chain(self):
        ann = " | ".join(["None"] * 900) + " | bytes"
        got = infer_schema.infer(f"def main(a: {ann}): pass\n")
        self.assertEqual(got, S({"a": P(B64)}, []))

    def test_unknown_expression_annotation_is_any(self):
        got = infer_schema.infer("def main(a: f(1), b: 3, c: [int]): pass\n")
        self.assertEqual(got, S({"a": P(), "b": P(), "c": P()}, ["a", "b", "c"]))


class CommandLine(unittest.TestCase):
    def run_cli(self, source, timeout=60):
        if isinstance(source, str):
            source = source.encode("utf-8")
        p = subprocess.run([PYTHON, "-I", INFER], input=source, capture_output=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def test_prints_one_json_object(self):
        rc, out, err = self.run_cli("from typing import Optional\n"
                                    "def main(name: str, n: Optional[int] = 3): pass\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, b"")
        self.assertEqual(out.count(b"\n"), 1)
        self.assertEqual(json.loads(out),
                         S({"name": P(STR), "n": P(INT, default=3)}, ["name"]))

    def test_error_exit_2(self):
        rc, out, err = self.run_cli("def main(:\n")
        self.assertEqual(rc, 2)
        doc = json.loads(out)
        self.assertEqual(set(doc), {"error"})
        self.assertEqual(doc["error"]["line"], 1)
        self.assertIsInstance(doc["error"]["message"], str)

    def test_no_main_exit_2(self):
        rc, out, _ = self.run_cli("x = 1\n")
        self.assertEqual(rc, 2)
        self.assertEqual(json.loads(out), {"error": {"message": "no main function"}})

    def test_deep_nesting_does_not_crash(self):
        for source in ["x = " + "(" * 1000 + "1" + ")" * 1000 + "\ndef main(): pass\n",
                       "x = " + "[" * 1000 + "]" * 1000 + "\ndef main(): pass\n",
                       "x = 1" + "+1" * 200000 + "\ndef main(): pass\n",
                       "x = " + "-" * 200000 + "1\ndef main(): pass\n"]:
            with self.subTest(len(source)):
                rc, out, err = self.run_cli(source)
                self.assertEqual(rc, 2, err)
                self.assertIn("message", json.loads(out)["error"])

    def test_never_executes_or_imports_the_script(self):
        marker = os.path.join(RUNTIME_DIR, "__must_not_exist__")
        src = ("import module_that_does_not_exist_anywhere\n"
               f"open({marker!r}, 'w').write('ran')\n"
               "raise SystemExit(7)\n"
               "def main(a: int): pass\n")
        rc, out, err = self.run_cli(src)
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(json.loads(out)["required"], ["a"])

    def test_large_input(self):
        # A few MB of code before main.
        filler = "".join(f"def f{i}(a, b=[1, 2, 3]):\n    return a + {i}\n" for i in range(60000))
        self.assertGreater(len(filler), 2_000_000)
        rc, out, err = self.run_cli(filler + "def main(x: int = 1): pass\n", timeout=120)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["properties"]["x"], P(INT, default=1))

    def test_non_ascii_is_escaped(self):
        rc, out, _ = self.run_cli("def main(caf\u00e9: str = '\u2603'): pass\n")
        self.assertEqual(rc, 0)
        out.decode("ascii")                  # pure ASCII on stdout
        self.assertEqual(json.loads(out)["properties"]["caf\u00e9"], P(STR, default="\u2603"))


if __name__ == "__main__":
    unittest.main()
