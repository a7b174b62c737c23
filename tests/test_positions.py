"""Positions from LibCST's private code generator state equal those of its public
PositionProvider, on every Python file of this repository (real code: our package,
tests, fixtures and benchmarks), on both collection paths."""

from __future__ import annotations

import pytest

from importguard.facts import positions
from importguard.facts.collect import collect_source
from importguard.model import SourceFile

from conftest import REPO

FILES = sorted(p for top in ("importguard", "tests", "fixtures", "bench") for p in (REPO / top).rglob("*.py"))


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
