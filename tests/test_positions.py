"""Positions from LibCST's private code generator state equal those of its public
PositionProvider, on every Python file of this repository (real code: our package,
tests, fixtures and benchmarks), on both collection paths."""

from __future__ import annotations

import subprocess

import pytest

from importguard.facts import positions
from importguard.facts.collect import collect_source
from importguard.model import SourceFile

from conftest import REPO

# Tracked files only: a tree unpacked under bench/.trees/ is no part of the test.
_LISTED = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True).stdout.split()
FILES = sorted(REPO / name for name in _LISTED) or sorted(
    p for top in ("importguard", "tests", "fixtures", "bench") for p in (REPO / top).rglob("*.py") if ".trees" not in p.parts
)


def _facts(path, reduce_bodies):
    source = SourceFile(str(path), path.stem, path.name == "__init__.py", str(path.parent))
    return collect_source(path.read_bytes(), source, reduce_bodies=reduce_bodies)


@pytest.mark.parametrize("reduce_bodies", [True, False], ids=["skeleton", "whole file"])
def test_private_and_public_positions_agree_on_real_files(monkeypatch, reduce_bodies):
    assert positions.USE_CODEGEN, "this LibCST lacks CodegenState: the private path is not tested"
    assert len(FILES) > 100
    private = [_facts(path, reduce_bodies) for path in FILES]
    monkeypatch.setattr(positions, "USE_CODEGEN", False)
    public = [_facts(path, reduce_bodies) for path in FILES]
    sites = sum(len(f.imports) + len(f.calls) for f in private)
    assert sites > 500
    assert [(f.path, f.imports, f.calls) for f in public] == [(f.path, f.imports, f.calls) for f in private]


def test_public_positions_place_a_call_after_a_form_feed_and_crlf(monkeypatch):
    data = b"import torch\r\n\x0c\r\nx = (1,\r\n     torch.cuda.is_available())\r\n"
    source = SourceFile("m.py", "m", False, ".")
    expected = collect_source(data, source)
    monkeypatch.setattr(positions, "USE_CODEGEN", False)
    assert collect_source(data, source) == expected
    assert [(c.name, c.line, c.column) for c in expected.calls] == [("torch.cuda.is_available", 4, 6)]


@pytest.mark.parametrize("use_codegen", [True, False], ids=["codegen", "public"])
def test_a_parenthesised_call_is_placed_inside_its_parentheses(monkeypatch, use_codegen):
    # vLLM 0.33.0, compilation/breakable_cudagraph.py: a class variable whose value is
    # a call in parentheses on the next line. The call starts at 4:9, as `ast` says.
    data = (
        b"import weakref\n"
        b"class Wrapper:\n"
        b"    _all: ClassVar[weakref.WeakSet[Wrapper]] = (\n"
        b"        weakref.WeakSet()\n"
        b"    )\n"
        b"import torch\n"
        b"x = ((torch.cuda.is_available()))\n"
    )
    monkeypatch.setattr(positions, "USE_CODEGEN", use_codegen)
    facts = collect_source(data, SourceFile("m.py", "m", False, "."))
    assert [(c.name, c.line, c.column, c.end_line) for c in facts.calls] == [
        ("weakref.WeakSet", 4, 9, 4), ("torch.cuda.is_available", 7, 7, 7)
    ]


def test_a_file_without_functions_places_its_imports_from_ast(monkeypatch):
    # No functions, so no skeleton: the imports are still placed from `ast`, and the
    # `from` import's parentheses send nothing to the (slow) public API.
    data = b"from a import (\n    b,\n    c,\n)\nimport torch\nX = torch.cuda.is_available()\n"
    source = SourceFile("m.py", "m", False, ".")
    public = []
    real = positions._public_positions
    monkeypatch.setattr(positions, "_public_positions", lambda *args: public.append(args) or real(*args))
    facts = collect_source(data, source)
    assert public == []
    assert [(s.module, s.line, s.column, s.end_line) for s in facts.imports] == [("a", 1, 1, 4), ("torch", 5, 1, 5)]
    assert [(c.name, c.line, c.column) for c in facts.calls] == [("torch.cuda.is_available", 6, 5)]
    assert collect_source(data, source, reduce_bodies=False) == facts  # code generated for the whole module


def test_a_call_in_a_class_body_generates_only_its_own_statement(monkeypatch):
    # Code is generated for the statement of the class body that holds the call, started
    # at its line and indentation, not for the whole class up to it.
    body = "".join(f"    # note {i}\n    field_{i}: int = {i}\n\n" for i in range(40))
    data = (
        "import torch\n\n\n@decorate\nclass Config(Base):\n    \"\"\"Doc.\"\"\"\n\n"
        + body
        + "\tdevice = torch.device('cuda:0')\n".replace("\t", "    ")
        + "    # trailing\n    ready = (\n        torch.cuda.is_available()\n    )\n"
    ).encode()
    source = SourceFile("m.py", "m", False, ".")
    generated = []
    real = positions.Positions._generate
    monkeypatch.setattr(positions.Positions, "_generate",
                        lambda self, module, node, *rest: generated.append(type(node).__name__) or real(self, module, node, *rest))
    facts = collect_source(data, source)
    assert "ClassDef" not in generated and generated
    assert [(c.name, c.line, c.column, c.end_line) for c in facts.calls] == [
        ("torch.device", 128, 14, 128), ("torch.cuda.is_available", 131, 9, 131)]
    monkeypatch.setattr(positions, "USE_CODEGEN", False)
    assert collect_source(data, source) == facts
