"""Millrace python3 runtime: infer the parameter schema of a script's main().

    /usr/bin/python3 -I infer_schema.py < script.py

prints one JSON object (a draft 2020-12 JSON Schema, Windmill-compatible)
and exits 0; for an unusable script it prints
{"error": {"message": ..., "line": N}} ("line" when known) and exits 2.

The script is only parsed with ``ast``; it is never imported or executed.
``infer(source)`` is the importable core: it returns the schema or raises
``SchemaError``.
"""

import ast
import json
import sys

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Annotation names (bare, or the last part of a dotted name such as
# typing.List or datetime.datetime) and the schema each stands for.
_SCALARS = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "bytes": {"type": "string", "contentEncoding": "base64"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
}
_ANY = {"Any", "object"}
_NONE = {"None", "NoneType"}
_OBJECTS = {"dict", "Dict", "Mapping", "MutableMapping", "OrderedDict",
            "DefaultDict", "defaultdict"}
_ARRAYS = {"list", "List", "Sequence", "MutableSequence", "Iterable",
           "Collection", "tuple", "Tuple", "set", "Set", "frozenset",
           "FrozenSet"}
_OPTIONAL = {"Optional"}
_UNION = {"Union"}
_LITERAL = {"Literal"}
_ANNOTATED = {"Annotated"}


class SchemaError(Exception):
    """The script cannot be described: syntax error, no main, too complex."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line

    def as_json(self):
        error = {"message": self.message}
        if self.line is not None:
            error["line"] = self.line
        return {"error": error}


def snake_case(name):
    """MyResource -> my_resource, HTTPClient -> http_client, S3Object -> s3_object."""
    out = []
    n = len(name)
    for i, c in enumerate(name):
        if c.isupper():
            if i > 0 and name[i - 1] != "_" and (
                    name[i - 1].islower() or name[i - 1].isdigit()
                    or (name[i - 1].isupper() and i + 1 < n and name[i + 1].islower())):
                out.append("_")
            out.append(c.lower())
        else:
            out.append(c)
    return "".join(out)


def _type_name(node):
    """The name an annotation node refers to: Name -> id, Attribute -> attr."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _union_members(node):
    """Flatten A | B | C (BinOp BitOr) into [A, B, C], without recursion:
    a long chain is a deep left-leaning tree."""
    members = []
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
            todo.append(n.right)
            todo.append(n.left)
        else:
            members.append(n)
    return members


def _is_none(node):
    return ((isinstance(node, ast.Constant) and node.value is None)
            or _type_name(node) in _NONE)


def _union_schema(members):
    """Schema and optional flag of Union[members] / a | b."""
    rest = [m for m in members if not _is_none(m)]
    optional = len(rest) < len(members)
    if len(rest) == 1:
        schema, inner_optional = _annotation_schema(rest[0])
        return schema, optional or inner_optional
    return {}, optional                      # several types: any JSON value


def _subscript_args(node):
    s = node.slice
    if isinstance(s, ast.Tuple):
        return list(s.elts)
    return [s]


def _literal_schema(args):
    values = []
    optional = False
    for a in args:
        try:
            v = ast.literal_eval(a)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return {}, False
        if v is None:
            optional = True
        elif isinstance(v, (str, int, float)):   # bool is an int
            values.append(v)
        else:
            return {}, False
    if not values:
        return {}, optional
    if all(isinstance(v, str) for v in values):
        kind = "string"
    elif all(isinstance(v, bool) for v in values):
        kind = "boolean"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        kind = "integer"
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        kind = "number"
    else:
        return {"enum": values}, optional
    return {"type": kind, "enum": values}, optional


def _annotation_schema(node):
    """(schema, optional) for an annotation expression node (or None)."""
    if node is None:
        return {}, False
    if isinstance(node, ast.Constant):
        if node.value is None:
            return {}, True
        if isinstance(node.value, str):      # forward reference: "List[int]"
            try:
                inner = ast.parse(node.value.strip(), mode="eval").body
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                return {}, False             # not an expression: any value
            return _annotation_schema(inner)
        return {}, False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_schema(_union_members(node))
    if isinstance(node, ast.Subscript):
        base = _type_name(node.value)
        args = _subscript_args(node)
        if base in _OPTIONAL:
            schema, _ = _annotation_schema(args[0])
            return schema, True
        if base in _UNION:
            return _union_schema(args)
        if base in _ANNOTATED:
            return _annotation_schema(args[0])
        if base in _LITERAL:
            return _literal_schema(args)
        if base in _ARRAYS:
            items = {}
            # List[T], Sequence[T], Tuple[T, ...]: items T.  Tuple[A, B]: any.
            if len(args) == 1 or (len(args) == 2 and isinstance(args[1], ast.Constant)
                                  and args[1].value is Ellipsis):
                items, _ = _annotation_schema(args[0])
            return {"type": "array", "items": items}, False
        if base in _OBJECTS:
            return {"type": "object"}, False
        node = node.value                    # SomeGeneric[...]: use the name
    name = _type_name(node)
    if name is None:
        return {}, False                     # a call, a lambda, ...: any value
    if name in _SCALARS:
        return dict(_SCALARS[name]), False
    if name in _ANY:
        return {}, False
    if name in _NONE:
        return {}, True
    if name in _OPTIONAL or name in _UNION or name in _LITERAL or name in _ANNOTATED:
        return {}, False                     # bare Optional etc.: any value
    if name in _ARRAYS:
        return {"type": "array", "items": {}}, False
    if name in _OBJECTS:
        return {"type": "object"}, False
    # Windmill: any other name is a resource type.
    return {"type": "object", "format": "resource-" + snake_case(name)}, False


def _json_value(v):
    """A literal default as JSON: tuples/sets -> lists, bytes -> base64.
    Raises ValueError when it has no JSON form (complex, 1e999, ...)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("not finite")
        return v
    if isinstance(v, bytes):
        import base64
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, (set, frozenset)):
        items = [_json_value(x) for x in v]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if isinstance(k, str):
                key = k
            elif k is None or isinstance(k, (bool, int, float)):
                key = json.dumps(k)          # as json.dumps would key it
            else:
                raise ValueError("unsupported key")
            out[key] = _json_value(x)
        return out
    raise ValueError("not a JSON value")


def _default(node):
    """(True, value) for a literal default, (False, None) otherwise."""
    try:
        value = _json_value(ast.literal_eval(node))
        # Must survive the trip to UTF-8 JSON (no lone surrogates).
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, TypeError, SyntaxError, UnicodeError):
        return False, None
    return True, value


def _find_main(tree):
    main = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "main":
            main = node                      # the last definition wins, as at run time
    return main


def _schema_of(fn):
    a = fn.args
    positional = list(a.posonlyargs) + list(a.args)
    first_default = len(positional) - len(a.defaults)
    params = []                              # (arg node, default node or None)
    for i, arg in enumerate(positional):
        params.append((arg, a.defaults[i - first_default] if i >= first_default else None))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        params.append((arg, d))

    properties = {}
    required = []
    order = []
    for arg, default_node in params:
        name = arg.arg
        if name in properties:
            raise SchemaError(f"duplicate argument '{name}' in function definition",
                              getattr(arg, "lineno", None))
        schema, optional = _annotation_schema(arg.annotation)
        prop = dict(schema)
        prop["description"] = ""
        if default_node is not None:
            ok, value = _default(default_node)
            if ok:
                prop["default"] = value
        elif not optional:
            required.append(name)
        properties[name] = prop
        order.append(name)
    if a.kwarg is not None and a.kwarg.arg in properties:
        raise SchemaError(f"duplicate argument '{a.kwarg.arg}' in function definition",
                          getattr(a.kwarg, "lineno", None))

    doc = {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": properties,
        "required": required,
        "order": order,
    }
    if a.kwarg is not None:
        doc["additionalProperties"] = True
    return doc


def infer(source):
    """The parameter schema of ``main`` in ``source`` (str or bytes).
    Raises SchemaError when there is none to give."""
    try:
        tree = ast.parse(source, filename="main.py")
        fn = _find_main(tree)
        if fn is None:
            raise SchemaError("no main function")
        return _schema_of(fn)
    except SchemaError:
        raise
    except SyntaxError as e:
        message = e.msg or "invalid syntax"
        raise SchemaError(message, e.lineno) from None
    except RecursionError:
        raise SchemaError("the script is nested too deeply to analyse") from None
    except MemoryError:
        raise SchemaError("the script is too complex to analyse") from None
    except ValueError as e:                  # e.g. null bytes in the source
        raise SchemaError(str(e)) from None


def run(source):
    """(document, exit status) as the command line reports them."""
    try:
        return infer(source), 0
    except SchemaError as e:
        return e.as_json(), 2


def main():
    source = sys.stdin.buffer.read()
    doc, status = run(source)
    out = json.dumps(doc) + "\n"             # ASCII-only: safe whatever the locale
    sys.stdout.buffer.write(out.encode("ascii"))
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
