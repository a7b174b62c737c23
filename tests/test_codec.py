"""The codecs derived from the dataclasses (importguard/cache/codec.py): every field of
every stored type, filled with a value other than its default, comes back equal and of
the same type through JSON and through each cached path (the facts cache, a worker's
result, the stored findings). A field added to a facts dataclass is covered by
construction: `filled` walks the fields, it names none of them."""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import typing
from pathlib import Path
from typing import Any

import pytest

from importguard.cache import pool, store
from importguard.cache.codec import MalformedEntry, codec, schema
from importguard.cache.loader import FactsLoader
from importguard.cache.pool import WorkerPool
from importguard.cache.replay import Replay
from importguard.facts.collect import collect_source
from importguard.graph.imports import Chain
from importguard.model import CallSite, Execution, Finding, ImportSite, ModuleFacts, Plan, Report, SiteKind, SourceFile

REPO = Path(__file__).resolve().parent.parent


def _value(tp: Any, default: Any, salt: str) -> Any:
    """A value of type `tp` that differs from `default`."""
    inner = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is typing.Union:
        return _value(inner[0], default, salt)
    if dataclasses.is_dataclass(tp):
        return filled(tp, salt)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(m for m in reversed(list(tp)) if m != default)
    if tp is bool:
        return not default if isinstance(default, bool) else True
    if tp is int:
        return 7 + len(salt)
    if tp is str:
        return f"{salt},x"  # a comma: a name list must not be split on it
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], None, f"{salt}{i}") for i in range(2))
        return tuple(_value(a, None, f"{salt}{i}") for i, a in enumerate(args))
    raise TypeError(f"no value for {tp!r}")


def filled(cls: type, salt: str = "v") -> Any:
    hints = typing.get_type_hints(cls, vars(__import__(cls.__module__, fromlist=["_"])))
    values = {}
    for field in dataclasses.fields(cls):
        if not field.metadata.get("stored", True):
            continue
        default = field.default if field.default is not dataclasses.MISSING else None
        values[field.name] = _value(hints[field.name], default, f"{salt}.{field.name}")
    return cls(**values)


def _defaults_differ(value: Any) -> list[str]:
    """The fields of `value` (all the way down) still at their default."""
    same = []
    for field in dataclasses.fields(value):
        if not field.metadata.get("stored", True):
            continue
        got = getattr(value, field.name)
        if field.default is not dataclasses.MISSING and got == field.default:
            same.append(f"{type(value).__name__}.{field.name}")
        for item in got if isinstance(got, tuple) else (got,):
            if dataclasses.is_dataclass(item):
                same += _defaults_differ(item)
    return same


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (== alone takes a list for a tuple,
    and compare=False fields would be skipped)."""
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


STORED = [ModuleFacts, Finding, Plan, Chain]  # Chain: each search's in the stored results


@pytest.mark.parametrize("cls", STORED, ids=lambda c: c.__name__)
def test_every_field_round_trips_through_json(cls):
    value = filled(cls)
    assert _defaults_differ(value) == []
    encoded = json.loads(json.dumps(codec(cls).encode(value)))
    assert _same(codec(cls).decode(encoded), value)


@pytest.mark.parametrize("cls", STORED, ids=lambda c: c.__name__)
def test_every_wrong_value_is_a_malformed_entry(cls):
    """Each stored value replaced by one of another type is refused, not read as data."""
    encoded = json.loads(json.dumps(codec(cls).encode(filled(cls))))
    places = list(_leaves(encoded, ()))
    assert len(places) > 10
    for place in places:
        garbled = json.loads(json.dumps(encoded))
        target = garbled
        for index in place[:-1]:
            target = target[index]
        original = target[place[-1]]
        target[place[-1]] = 1.5 if not isinstance(original, float) else "x"
        with pytest.raises(MalformedEntry):
            codec(cls).decode(garbled)


@pytest.mark.parametrize("cls", STORED, ids=lambda c: c.__name__)
def test_empty_tuples_decode_to_the_empty_tuple_and_falsy_values_of_other_types_are_refused(cls):
    """Every tuple field emptied decodes to (); every one replaced by a falsy value of
    another type (0, "", None unless the field is optional, {}, False) is a malformed
    entry, not an empty tuple."""
    value = filled(cls)
    encoded = json.loads(json.dumps(codec(cls).encode(value)))
    hints = typing.get_type_hints(cls)
    emptied = []
    for index, field in enumerate(f for f in dataclasses.fields(cls) if f.metadata.get("stored", True)):
        if isinstance(getattr(value, field.name), tuple) and isinstance(encoded[index], list):
            emptied.append((index, field.name))
    assert emptied
    for index, name in emptied:
        empty = [*encoded[:index], [], *encoded[index + 1:]]
        decoded = codec(cls).decode(empty)
        assert getattr(decoded, name) == () and type(getattr(decoded, name)) is tuple
        optional = type(None) in typing.get_args(hints[name])
        for falsy in (0, "", *(() if optional else (None,)), {}, False):
            with pytest.raises(MalformedEntry):
                codec(cls).decode([*encoded[:index], falsy, *encoded[index + 1:]])


def _leaves(value: Any, at: tuple[int, ...]):
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*at, index))
    else:
        yield at


def test_wrong_lengths_are_malformed_entries():
    encoded = codec(ModuleFacts).encode(filled(ModuleFacts))
    for broken in (encoded[:-1], [*encoded, 1], "text", None, {"a": 1}):
        with pytest.raises(MalformedEntry):
            codec(ModuleFacts).decode(broken)
    imports = encoded[3]
    with pytest.raises(MalformedEntry):
        codec(ModuleFacts).decode([*encoded[:3], imports[:-1], *encoded[4:]])


def test_the_schema_names_every_field_and_changes_with_them():
    spelled = schema(ModuleFacts)
    for field in dataclasses.fields(ModuleFacts):
        assert f"{field.name}:" in spelled

    @dataclasses.dataclass(frozen=True)
    class Before:
        a: int

    @dataclasses.dataclass(frozen=True)
    class After:
        a: int
        b: str = ""

    assert schema(Before).replace("Before", "X") != schema(After).replace("After", "X")
    assert codec(After).decode(json.loads(json.dumps(codec(After).encode(After(3, "b"))))) == After(3, "b")


def _every_field_collector(monkeypatch, facts_for):
    """The collector returns, for each file, facts with every field filled."""
    monkeypatch.setattr("importguard.facts.collect.collect_source", lambda data, source: facts_for(source))


def _facts_for(source: SourceFile) -> ModuleFacts:
    value = filled(ModuleFacts)
    return dataclasses.replace(value, module=source.module, path=source.path, is_package=source.is_package)


def test_every_field_survives_the_worker_and_the_facts_cache(tmp_path, monkeypatch):
    module = tmp_path / "pkg" / "mod.py"
    module.parent.mkdir()
    module.write_text("import os\n")
    old = 1_000_000_000
    os.utime(module, (old, old))  # old enough for its stat to be trusted
    source = SourceFile(str(module), "pkg.mod", False, str(tmp_path))
    _every_field_collector(monkeypatch, _facts_for)
    expected = _facts_for(source)

    first = store.FactsCache(tmp_path / "cache", {"k": "v"})
    loader = FactsLoader(first, WorkerPool(1))
    (collected,) = loader([source])  # a worker's result, decoded in this process
    assert _same(collected, expected)
    first.save()

    again = store.FactsCache(tmp_path / "cache", {"k": "v"})
    assert again.warnings == []
    assert _same(again.lookup(source), expected)
    assert _same(FactsLoader(again, WorkerPool(1))([source])[0], expected)


def test_every_field_survives_a_worker_in_another_process(tmp_path, monkeypatch):
    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    source = SourceFile(str(module), "m", False, str(tmp_path))
    _every_field_collector(monkeypatch, _facts_for)
    results = WorkerPool(2)._in_pool([source], None)  # forked: the monkeypatch goes with it
    assert _same(pool.facts_of(source, results[0]), _facts_for(source))
    # The bytes the worker sent are what the facts cache stores, hashed as it hashes them.
    assert results[0]["facts"] == store.facts_json(store.encode(_facts_for(source)))
    assert results[0]["hash"] == store.facts_hash(store.encode(_facts_for(source)))


def test_every_finding_field_survives_the_stored_report(tmp_path, monkeypatch):
    read = tmp_path / "read.py"
    read.write_text("x = 1\n")
    monkeypatch.setattr(store, "_RACY_NS", 0)  # the file was just written: trust its stat all the same
    finding, plan = filled(Finding), filled(Plan)
    report = Report((finding,), 3, ("w",), plan, consulted_files=(str(read),))
    Replay(tmp_path / "cache", {"o": 1}).save(report)
    loaded = Replay(tmp_path / "cache", {"o": 1}).load()
    assert loaded is not None
    assert _same(loaded.findings[0], finding)
    assert _same(loaded.plan, plan)


@pytest.mark.parametrize("folder", ["importguard", "fixtures", "tests"])
def test_real_files_round_trip(folder):
    paths = sorted((REPO / folder).rglob("*.py"))
    assert paths
    for path in paths:
        source = SourceFile(str(path), ".".join(path.relative_to(REPO).with_suffix("").parts),
                            path.name == "__init__.py", str(REPO))
        facts = collect_source(path.read_bytes(), source)
        stored = json.loads(json.dumps(store.encode(facts)))
        assert _same(store.decode(source, stored), facts), path


def test_the_identity_fields_come_first():
    assert [f.name for f in dataclasses.fields(ModuleFacts)][:3] == list(store.IDENTITY_FIELDS)


def test_decoded_facts_share_one_object_per_distinct_text():
    """Facts repeat the same names (callees, modules) across a tree: decoding keeps one
    string per distinct text, so the facts of 26,000 files fit in memory."""
    source = SourceFile("/p/a.py", "a", False, "/p")
    facts = ModuleFacts("a", "/p/a.py", False, imports=(
        ImportSite("torch.cuda", ("is_available", "device"), 1, 1, 1, Execution.EAGER, SiteKind.FROM, False),),
        calls=(CallSite("torch.cuda.is_available", 2, 1, 2, False),), bindings=(("torch", "torch"),))
    first, second = (store.decode(source, json.loads(store.facts_json(store.encode(facts)))) for _ in range(2))
    assert first == second == facts
    assert first.imports[0].module is second.imports[0].module
    assert first.imports[0].names[0] is second.imports[0].names[0]  # a tuple of strings too
    assert first.calls[0].name is second.calls[0].name
    assert first.bindings[0] is second.bindings[0]  # a row of values: one tuple
