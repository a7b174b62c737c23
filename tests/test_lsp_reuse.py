"""The language server answers from what it already has: requests for the same buffer
version share one analysis, and code actions reuse the fixer's answer for a version."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="the language server needs pygls: pip install -e '.[test]'")
pytest.importorskip("pytest_lsp", reason="the LSP tests need pytest-lsp: pip install -e '.[test]'")

from conftest import write_tree  # noqa: E402
from lsprotocol import types as lsp  # noqa: E402
from pygls.workspace import TextDocument  # noqa: E402
from test_lsp import FILES, INIT, open_file  # noqa: E402
from test_lsp_progress import _session  # noqa: E402

from importguard.lsp.server import FixMemo, code_actions  # noqa: E402

PULLS = lsp.ClientCapabilities(text_document=lsp.TextDocumentClientCapabilities(diagnostic=lsp.DiagnosticClientCapabilities()))


@pytest.mark.asyncio
async def test_requests_for_one_buffer_version_share_one_analysis(tmp_path: Path):
    root = write_tree(tmp_path, dict(FILES, **{"pyproject.toml": "[tool.importguard]\n"}))
    async with _session(PULLS) as client:
        uri = open_file(client, root / "pkg" / "__init__.py")
        ask = lambda: client.text_document_diagnostic_async(  # noqa: E731
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
        first, second = await asyncio.wait_for(asyncio.gather(ask(), ask()), timeout=60)
        analysed = [m.message for m in client.log_messages if m.message.startswith("importguard: analysed ")]
    assert [d.code for d in first.items] == [d.code for d in second.items] == ["IG001"]
    assert len(analysed) == 1, analysed


def _diagnostic(line: int) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=lsp.Range(lsp.Position(line - 1, 0), lsp.Position(line - 1, 22)), message="eager import",
        code="IG001", source="importguard",
        data={"code": "IG001", "line": line, "column": 1, "end_line": line, "package": "pkg"},
    )


def test_code_actions_reuse_the_fixers_answer_for_a_buffer_version(tmp_path: Path):
    uri = (tmp_path / "pkg" / "__init__.py").as_uri()
    fixes = FixMemo()
    document = TextDocument(uri, INIT, version=1)
    titles = [[a.title for a in code_actions(document, [_diagnostic(2)], fixes)] for _ in range(3)]
    assert titles[0] == ["Add `# noqa: IG001` (importguard)", "Make this re-export lazy (PEP 562 __getattr__)"]
    assert titles == [titles[0]] * 3
    assert fixes.computed == 1  # one LibCST parse for three requests

    edited = TextDocument(uri, INIT.replace("# kernels", "# the kernels"), version=2)
    [_, lazy] = code_actions(edited, [_diagnostic(2)], fixes)
    assert fixes.computed == 2  # a new version is fixed again, from its own text
    assert "# the kernels" in lazy.edit.changes[uri][0].new_text


@pytest.mark.asyncio
async def test_a_pulling_client_leaves_the_facts_cache_for_the_next_session(tmp_path: Path):
    # VS Code pulls diagnostics: the work after an answer (the facts cache written, the
    # warm-up of a replay) must follow a pulled answer as it follows a pushed one.
    root = write_tree(tmp_path, dict(FILES, **{"pyproject.toml": "[tool.importguard]\n"}))
    async with _session(PULLS) as client:
        uri = open_file(client, root / "pkg" / "__init__.py")
        report = await asyncio.wait_for(client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))), timeout=60)
        assert [d.code for d in report.items] == ["IG001"]
        cache = root / ".importguard_cache"
        for _ in range(200):
            if list(cache.glob("facts-*.sqlite")):
                break
            await asyncio.sleep(0.1)
    assert list(cache.glob("facts-*.sqlite")), sorted(p.name for p in cache.iterdir())
