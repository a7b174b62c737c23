"""`importguard lsp` end to end: the real server process, spoken to over stdio by
pytest-lsp's client."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Callable, Sequence

import pytest

pytest.importorskip("pygls", reason="the language server needs pygls: pip install -e '.[test]'")
pytest_lsp = pytest.importorskip("pytest_lsp", reason="the LSP tests need pytest-lsp: pip install -e '.[test]'")

import libcst  # noqa: E402
from conftest import write_tree  # noqa: E402
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

INIT = '"""Ops."""\nfrom .gemm import gemm  # kernels\nfrom .util import helper\n\n__all__ = ["gemm", "helper"]\n'
FILES = {
    "pkg/__init__.py": INIT,
    "pkg/gemm.py": "import cutlass\n\n\ndef gemm(x):\n    return x\n",
    "pkg/util.py": "def helper():\n    return 1\n",
}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "importguard", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


async def diagnostics_until(
    client: LanguageClient, uri: str, done: Callable[[Sequence[lsp.Diagnostic]], bool]
) -> Sequence[lsp.Diagnostic]:
    """Wait (at most 20 s) for diagnostics of `uri` that satisfy `done`."""

    async def wait() -> Sequence[lsp.Diagnostic]:
        while uri not in client.diagnostics or not done(client.diagnostics[uri]):
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return list(client.diagnostics[uri])

    return await asyncio.wait_for(wait(), timeout=20)


def open_file(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text or path.read_text())
        )
    )
    return uri


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [lsp.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def apply(text: str, edit: lsp.TextEdit) -> str:
    lines = text.splitlines(keepends=True) + [""]
    offset = lambda p: sum(len(line) for line in lines[: p.line]) + p.character
    return text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]


@pytest.mark.asyncio
async def test_diagnostics_carry_the_chain_and_follow_the_buffer(client: LanguageClient, tmp_path: Path):
    root = write_tree(tmp_path, FILES)
    init = root / "pkg" / "__init__.py"
    uri = open_file(client, init)

    [diagnostic] = await diagnostics_until(client, uri, lambda d: True)
    assert diagnostic.code == "IG001"
    assert diagnostic.source == "importguard"
    assert diagnostic.range.start == lsp.Position(1, 0)
    assert "pkg -> pkg.gemm -> cutlass" in diagnostic.message
    hops = [(info.location.uri, info.location.range.start.line) for info in diagnostic.related_information]
    assert hops == [(init.as_uri(), 1), ((root / "pkg" / "gemm.py").as_uri(), 0)]
    assert "pkg.gemm -> cutlass" in diagnostic.related_information[1].message

    # The unsaved buffer counts, not the file on disk (which still has the import).
    change(client, uri, 2, '"""Ops."""\nfrom .util import helper\n')
    assert await diagnostics_until(client, uri, lambda d: True) == []
    assert "from .gemm import gemm" in init.read_text()

    change(client, uri, 3, INIT)
    assert len(await diagnostics_until(client, uri, lambda d: True)) == 1

    # Saving a fixed leaf module refreshes the open `__init__.py`.
    gemm = root / "pkg" / "gemm.py"
    gemm_uri = open_file(client, gemm)
    await diagnostics_until(client, gemm_uri, lambda d: True)
    gemm.write_text("def gemm(x):\n    return x\n")
    change(client, gemm_uri, 2, gemm.read_text())
    client.diagnostics.pop(uri, None)
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri=gemm_uri)))
    assert await diagnostics_until(client, uri, lambda d: True) == []


@pytest.mark.asyncio
async def test_code_actions_add_noqa_and_make_the_re_export_lazy(client: LanguageClient, tmp_path: Path):
    root = write_tree(tmp_path, FILES)
    init = root / "pkg" / "__init__.py"
    uri = open_file(client, init)
    [diagnostic] = await diagnostics_until(client, uri, lambda d: len(d) == 1)

    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=lsp.CodeActionContext(diagnostics=[diagnostic], only=[lsp.CodeActionKind.QuickFix]),
        )
    )
    by_title = {action.title: action for action in actions}
    assert sorted(by_title) == ["Add `# noqa: IG001` (importguard)", "Make this re-export lazy (PEP 562 __getattr__)"]

    [noqa] = by_title["Add `# noqa: IG001` (importguard)"].edit.changes[uri]
    with_noqa = apply(INIT, noqa)
    assert with_noqa.splitlines()[1] == "from .gemm import gemm  # kernels  # noqa: IG001"

    [lazy] = by_title["Make this re-export lazy (PEP 562 __getattr__)"].edit.changes[uri]
    fixed = apply(INIT, lazy)
    libcst.parse_module(fixed)
    assert "def __getattr__(name: str):" in fixed and "from .gemm import gemm as value" in fixed
    assert "if TYPE_CHECKING:\n    from .gemm import gemm  # kernels\n" in fixed

    # Both edits silence the finding once they are in the buffer.
    for version, text in ((2, with_noqa), (3, fixed)):
        change(client, uri, version, text)
        assert await diagnostics_until(client, uri, lambda d: True) == []


@pytest.mark.asyncio
async def test_a_bad_config_is_shown_and_the_file_is_linted_with_the_defaults(client: LanguageClient, tmp_path: Path):
    bad = write_tree(tmp_path / "bad", {**FILES, "pyproject.toml": "[tool.importguard]\nno-such-key = 1\n"})
    uri = open_file(client, bad / "pkg" / "__init__.py")
    [diagnostic] = await diagnostics_until(client, uri, lambda d: len(d) == 1)
    assert diagnostic.code == "IG001"
    [shown] = [m for m in client.messages if "no-such-key" in m.message]
    assert shown.type == lsp.MessageType.Warning
    assert shown.message.endswith(
        "pyproject.toml:2: unknown key `no-such-key` in [tool.importguard]; linting with the default settings")

    # Shown once, not on every change.
    change(client, uri, 2, INIT + "\n")
    await diagnostics_until(client, uri, lambda d: len(d) == 1)
    assert len([m for m in client.messages if "no-such-key" in m.message]) == 1


def test_without_pygls_the_command_says_what_to_install():
    import subprocess

    code = "import sys; sys.modules['pygls'] = None; from importguard.entry import main; sys.argv = ['importguard', 'lsp']; main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        "importguard: error: `importguard lsp` needs pygls, which is not installed; "
        "install it with: pip install 'pygls>=2,<3'\n"
    )
