"""`ModuleFacts.to_dict` is written out by hand for speed; it must give exactly what
`dataclasses.asdict` gives: the same keys in the same order, the same values of the
same types (tuples stay tuples, enum members stay members), so the cache and the
worker results do not change."""

from __future__ import annotations

import textwrap
from dataclasses import asdict, fields
from pathlib import Path

import pytest

from importguard.facts.collect import collect_source
from importguard.model import CallSite, FunctionFacts, ImportSite, ModuleFacts, Problem, Suppression, SourceFile

REPO = Path(__file__).resolve().parent.parent

EVERY_FIELD = textwrap.dedent('''\
    """Every field of ModuleFacts filled."""
    # importguard: noqa: IG002
    import os
    import torch
    from . import sibling
    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        import numpy
    __all__ = ["f", "K"]
    os.environ["CUDA_VISIBLE_DEVICES"] = "0"
    exec("import x")
    avail = torch.cuda.is_available
    X = torch.zeros(1, device="cuda")  # noqa: IG001
    Y = torch.cuda.device_count()  # importguard: ignore[IG003]
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()

    @torch.compile
    def f(a=torch.cuda.current_device()):
        import importlib
        importlib.import_module("cutlass")
        return torch.empty(1, device="cuda:0")

    class K:
        def m(self):
            self.n()
    ''')


def _same(a: object, b: object) -> bool:
    """Equal and of the same types all the way down (== alone takes a list for a tuple)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(map(_same, a, b))  # type: ignore[arg-type]
    return a == b


def _facts(path: Path, module: str) -> ModuleFacts:
    return collect_source(path.read_bytes(), SourceFile(str(path), module, path.name == "__init__.py", str(REPO)))


def test_every_field_is_filled_and_written_as_asdict_would():
    facts = collect_source(EVERY_FIELD.encode(), SourceFile("/x/pkg/mod.py", "pkg.mod", False, "/x"))
    for name in ("imports", "calls", "exports", "suppressions", "functions", "bindings", "environ", "notes"):
        assert getattr(facts, name), name  # the check below covers each of them
    assert {s.directive for s in facts.suppressions} == {"file", "noqa", "ignore"}
    assert any(f.calls for f in facts.functions)
    assert _same(facts.to_dict(), asdict(facts))


def test_problems_written_as_asdict_would():
    facts = collect_source(b"def f(:\n", SourceFile("/x/m.py", "m", False, "/x"))
    assert facts.problems
    assert _same(facts.to_dict(), asdict(facts))


def test_every_dataclass_field_has_a_key():
    # A field added to a facts dataclass must be added to the hand-written to_dict too.
    site = ImportSite("a", ("b",), 1, 1, 1, "eager", "from")  # type: ignore[arg-type]
    call = CallSite("a.b", 1, 1, 1)
    facts = ModuleFacts(
        "m", "/m.py", False, imports=(site,), calls=(call,), exports=("x",),
        suppressions=(Suppression(1, ("IG001",)),), problems=(Problem("IG900", "bad"),),
        functions=(FunctionFacts("f", 1, (call,)),), bindings=(("a", "b"),), environ=(("K", "V", 1),),
        notes=((1, "n"),),
    )
    data = facts.to_dict()
    assert list(data) == [f.name for f in fields(ModuleFacts)]
    assert list(data["imports"][0]) == [f.name for f in fields(ImportSite)]
    assert list(data["calls"][0]) == [f.name for f in fields(CallSite)]
    assert list(data["suppressions"][0]) == [f.name for f in fields(Suppression)]
    assert list(data["problems"][0]) == [f.name for f in fields(Problem)]
    assert list(data["functions"][0]) == [f.name for f in fields(FunctionFacts)]
    assert _same(data, asdict(facts))


@pytest.mark.parametrize("folder", ["importguard", "fixtures", "tests"])
def test_real_files_written_as_asdict_would(folder):
    paths = sorted((REPO / folder).rglob("*.py"))
    assert paths
    for path in paths:
        facts = _facts(path, ".".join(path.relative_to(REPO).with_suffix("").parts))
        assert _same(facts.to_dict(), asdict(facts)), path
