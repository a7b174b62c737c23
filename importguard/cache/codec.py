"""Codecs derived from dataclass fields: one per type, built from its annotations, so a
field added to a facts dataclass round-trips through the facts cache, the worker
results and the stored findings by construction (tests/test_codec.py fills every field).

A dataclass is written as a JSON list of its fields in declaration order. A tuple of
dataclasses, or of fixed-size tuples, is written flat (the fields of one item after
another's): JSON then builds one list per module instead of one per site, which loaded
three times faster on real trees. Decoding checks every value's type, since a cache
file proves nothing about its own shape: a malformed entry raises MalformedEntry (the
caller's miss), never gives wrong facts. `schema(cls)` spells the layout out, so a
cache keyed on it never reads entries written for other fields.

The encoder and decoder of each type are generated Python (as `dataclasses` generates
`__init__`): one function per type, no per-field dispatch at run time.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import types
import typing
from typing import Any, Callable, Union

_SEQUENCE = (list, tuple)  # JSON gives lists; values kept in memory may hold tuples
_SCALARS = (str, int, bool, float)


# One object per distinct fixed-size tuple of values: a tree's facts repeat the same
# bindings (`("torch", "torch")`) thousands of times. Emptied past a bound, so that a
# run that decodes facts again and again (engine.FactsStore keeps a few decoded), or a
# long-lived process (the language server), does not keep every row it ever decoded:
# vLLM's facts hold about 40,000 distinct rows a copy of the tree.
_ROWS: dict[tuple, tuple] = {}
_MAX_ROWS = 1 << 16


def _shared_row(row: tuple) -> tuple:
    found = _ROWS.get(row)
    if found is None:
        if len(_ROWS) >= _MAX_ROWS:
            _ROWS.clear()
        found = _ROWS[row] = row
    return found


class MalformedEntry(ValueError):
    """Stored data whose shape is not what its codec writes: a miss, never an answer."""


class Codec:
    """`encode(value) -> list` and `decode(list) -> value` for one dataclass."""

    def __init__(self, cls: type, encode: Callable[[Any], list], decode: Callable[[Any], Any]) -> None:
        self.cls = cls
        self.encode = encode
        self.decode = decode


_CODECS: dict[type, Codec] = {}
_SCHEMAS: dict[type, str] = {}


def codec(cls: type) -> Codec:
    """The codec of dataclass `cls`, built once."""
    found = _CODECS.get(cls)
    if found is None:
        found = _CODECS[cls] = _Builder().build(cls)
    return found


def schema(cls: type) -> str:
    """The layout `codec(cls)` writes: field names and types, nested types spelled out."""
    found = _SCHEMAS.get(cls)
    if found is None:
        found = _SCHEMAS[cls] = _spell(cls, set())
    return found


def _hints(cls: type) -> list[tuple[str, Any]]:
    """The stored fields of `cls` and their types: every field but those marked
    `metadata={"stored": False}` (filled by a later stage, e.g. a finding's probe verdict).
    Worked out once per class: schema() and the codec's builder ask for the same ones,
    and evaluating the annotations is most of a codec's build."""
    found = _HINTS.get(cls)
    if found is None:
        module = sys.modules[cls.__module__]
        hints = typing.get_type_hints(cls, vars(module))
        found = _HINTS[cls] = [(f.name, hints[f.name]) for f in dataclasses.fields(cls)
                               if f.metadata.get("stored", True)]
    return found


_HINTS: dict[type, list[tuple[str, Any]]] = {}


def _unstored(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("stored", True)]


def _spell(tp: Any, seen: set) -> str:
    if dataclasses.is_dataclass(tp):
        if tp in seen:
            return tp.__qualname__
        seen = seen | {tp}
        return f"{tp.__qualname__}({','.join(f'{n}:{_spell(t, seen)}' for n, t in _hints(tp))})"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return f"{tp.__qualname__}{{{','.join(str(m.value) for m in tp)}}}"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is not None:
        return f"{getattr(origin, '__name__', origin)}[{','.join('...' if a is Ellipsis else _spell(a, seen) for a in args)}]"
    return getattr(tp, "__name__", repr(tp))


def _optional(tp: Any) -> Any:
    """`X` for `Optional[X]`, else None."""
    if typing.get_origin(tp) in (Union, getattr(types, "UnionType", Union)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
    return None


def _items(tp: Any) -> Union[None, tuple[Any, ...], Any]:
    """For `tuple[X, ...]`: X; for `tuple[A, B]`: (A, B) as a tuple; else None."""
    if typing.get_origin(tp) is not tuple:
        return None
    args = typing.get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _fixed(tp: Any) -> Union[None, tuple[Any, ...]]:
    if typing.get_origin(tp) is not tuple:
        return None
    args = typing.get_args(tp)
    if args and Ellipsis not in args:
        return args
    return None


class _Builder:
    """Generates the source of every function a codec needs, then compiles it once."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"MalformedEntry": MalformedEntry, "SEQ": _SEQUENCE,
                                          "new": object.__new__, "share": sys.intern, "row": _shared_row}
        self.encoders: dict[Any, str] = {}
        self.decoders: dict[Any, str] = {}
        self.counter = 0

    def build(self, cls: type) -> Codec:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls!r} is not a dataclass")
        encode, decode = self.encoder(cls), self.decoder(cls)
        exec(compile("\n".join(self.lines), f"<codec {cls.__qualname__}>", "exec"), self.namespace)
        return Codec(cls, self.namespace[encode], self.namespace[decode])

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _constant(self, value: Any) -> str:
        name = self._name("k")
        self.namespace[name] = value
        return name

    # -- encoding: an expression for a value of type `tp` held in `var`

    def encode_expr(self, tp: Any, var: str) -> str:
        if tp in _SCALARS or tp is type(None):
            return var
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return f"{var}.value"
        inner = _optional(tp)
        if inner is not None:
            return f"(None if {var} is None else {self.encode_expr(inner, var)})"
        if dataclasses.is_dataclass(tp) or _items(tp) is not None or _fixed(tp) is not None:
            return f"{self.encoder(tp)}({var})"
        raise TypeError(f"no codec for {tp!r}")

    def encoder(self, tp: Any) -> str:
        if tp in self.encoders:
            return self.encoders[tp]
        name = self.encoders[tp] = self._name("e")
        if dataclasses.is_dataclass(tp):
            fields = _hints(tp)
            parts = ", ".join(self.encode_expr(t, f"v.{n}") for n, t in fields)
            self.lines += [f"def {name}(v):", f"    return [{parts}]"]
        elif _fixed(tp) is not None:
            args = _fixed(tp)
            parts = ", ".join(self.encode_expr(t, f"v[{i}]") for i, t in enumerate(args))
            self.lines += [f"def {name}(v):", f"    return [{parts}]"]
        else:
            item = _items(tp)
            row = self._row(item)
            if row is None:  # one value per item
                expr = self.encode_expr(item, "x")
                self.lines += [f"def {name}(v):", f"    return [{expr} for x in v]" if expr != "x"
                               else "    return list(v)"]
            else:  # flat: the values of each item one after another
                parts = ", ".join(self.encode_expr(t, f"x{accessor}") for accessor, t in row)
                self.lines += [f"def {name}(v):", "    out = []", "    for x in v:",
                               f"        out += ({parts},)", "    return out"]
        return name

    def _row(self, item: Any) -> Union[None, list[tuple[str, Any]]]:
        """The (accessor, type) of each value an item of a tuple is written flat as."""
        if dataclasses.is_dataclass(item):
            return [(f".{n}", t) for n, t in _hints(item)]
        if _fixed(item) is not None:
            return [(f"[{i}]", t) for i, t in enumerate(_fixed(item))]
        return None

    # -- decoding: statements that check `var` and rebind it to the decoded value

    def decode_lines(self, tp: Any, var: str, where: str, indent: str) -> list[str]:
        bad = f"{indent}    raise MalformedEntry({where!r})"
        if tp is str:
            # One object per distinct text: a tree's facts repeat the same names (callees,
            # modules) hundreds of thousands of times; shared, vLLM's take 40 MB less.
            return [f"{indent}if type({var}) is not str:", bad, f"{indent}{var} = share({var})"]
        if tp is bool or tp is float:
            return [f"{indent}if type({var}) is not {tp.__name__}:", bad]
        if tp is int:
            return [f"{indent}if type({var}) is not int:", bad]  # a bool is no int here
        if tp is type(None):
            return [f"{indent}if {var} is not None:", bad]
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            members = self._constant({m.value: m for m in tp})
            return [f"{indent}try:", f"{indent}    {var} = {members}[{var}]",
                    f"{indent}except (KeyError, TypeError):", bad]
        inner = _optional(tp)
        if inner is not None:
            return [f"{indent}if {var} is not None:", *self.decode_lines(inner, var, where, indent + "    ")]
        if _items(tp) is not None:
            # Most of a tree's tuples are empty (a call's keywords, a site's names): an
            # empty list is the empty tuple without a call; anything else is checked.
            return [f"{indent}{var} = () if type({var}) is list and not {var} else {self.decoder(tp)}({var})"]
        if dataclasses.is_dataclass(tp) or _fixed(tp) is not None:
            return [f"{indent}{var} = {self.decoder(tp)}({var})"]
        raise TypeError(f"no codec for {tp!r}")

    def decoder(self, tp: Any) -> str:
        if tp in self.decoders:
            return self.decoders[tp]
        name = self.decoders[tp] = self._name("d")
        body: list[str] = []
        if dataclasses.is_dataclass(tp):
            fields = _hints(tp)
            body += self._unpack("v", [n for n, _ in fields], f"{tp.__qualname__}", "    ")
            for n, t in fields:
                body += self.decode_lines(t, f"f_{n}", f"{tp.__qualname__}.{n}", "    ")
            body += self._construct(tp, fields, "    ", "return")
        elif _fixed(tp) is not None:
            args = _fixed(tp)
            names = [f"f_{i}" for i in range(len(args))]
            body += self._unpack("v", names, _spell(tp, set()), "    ")
            for n, t in zip(names, args):
                body += self.decode_lines(t, n, _spell(tp, set()), "    ")
            share = "row" if all(t in _SCALARS for t in args) else ""
            body.append(f"    return {share}(({', '.join(names)},))")
        else:
            item = _items(tp)
            where = _spell(tp, set())
            row = self._row(item)
            body += ["    if type(v) not in SEQ:", f"        raise MalformedEntry({where!r})"]
            if row is None:
                if item in _SCALARS and item is not str:
                    body += ["    for x in v:", *self.decode_lines(item, "x", where, "        "),
                             "    return tuple(v)"]
                else:
                    body += ["    out = []", "    for x in v:", *self.decode_lines(item, "x", where, "        "),
                             "        out.append(x)", "    return tuple(out)"]
            else:
                width = len(row)
                names = [f"a{i}" for i in range(width)]
                body += [f"    if len(v) % {width}:", f"        raise MalformedEntry({where!r})",
                         "    out = []", "    it = iter(v)",
                         f"    for {', '.join(names)}{',' if width == 1 else ''} in zip(*[it] * {width}):"]
                for n, (_, t) in zip(names, row):
                    body += self.decode_lines(t, n, where, "        ")
                if dataclasses.is_dataclass(item):
                    fields = _hints(item)
                    body += self._construct(item, [(f"{field}", t) for field, t in fields], "        ", "out.append",
                                            values=names)
                else:
                    share = "row" if all(t in _SCALARS for _, t in row) else ""
                    body.append(f"        out.append({share}(({', '.join(names)},)))")
                body.append("    return tuple(out)")
        self.lines += [f"def {name}(v):", *body]
        return name

    def _unpack(self, var: str, names: list[str], where: str, indent: str) -> list[str]:
        targets = ", ".join(n if n.startswith("f_") else f"f_{n}" for n in names)
        return [f"{indent}if type({var}) not in SEQ or len({var}) != {len(names)}:",
                f"{indent}    raise MalformedEntry({where + ': wrong length'!r})",
                f"{indent}{targets}{',' if len(names) == 1 else ''} = {var}"]

    def _construct(self, cls: type, fields: list[tuple[str, Any]], indent: str, how: str,
                   values: Union[None, list[str]] = None) -> list[str]:
        """Fill the instance's __dict__: __init__ of a frozen dataclass costs each of
        tens of thousands of cached sites its setattr calls."""
        constant = self._constant(cls)
        values = values or [f"f_{n}" for n, _ in fields]
        assigned = [(n, value) for (n, _), value in zip(fields, values)]
        for field in _unstored(cls):  # their defaults, as __init__ would set them
            if field.default_factory is not dataclasses.MISSING:
                assigned.append((field.name, f"{self._constant(field.default_factory)}()"))
            elif field.default is not dataclasses.MISSING:
                assigned.append((field.name, self._constant(field.default)))
            else:
                raise TypeError(f"{cls.__qualname__}.{field.name} is not stored and has no default")
        lines = [f"{indent}o = new({constant})"]
        if "__slots__" in vars(cls):  # each slot's descriptor sets it (frozen: no setattr)
            lines += [f"{indent}{self._constant(vars(cls)[n].__set__)}(o, {value})" for n, value in assigned]
        else:
            lines.append(f"{indent}o.__dict__.update({', '.join(f'{n}={value}' for n, value in assigned)})")
        return [*lines, f"{indent}{how}(o)" if how != "return" else f"{indent}return o"]
