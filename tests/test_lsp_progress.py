"""Work-done progress (`$/progress`) while `importguard lsp` analyses: from the early
start for the first file, from the pygls server after it, and nothing for a replay."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="the language server needs pygls: pip install -e '.[test]'")
pytest_lsp = pytest.importorskip("pytest_lsp", reason="the LSP tests need pytest-lsp: pip install -e '.[test]'")

from conftest import write_tree  # noqa: E402
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402
from test_lsp import FILES, diagnostics_until, open_file  # noqa: E402

from importguard.lsp import progress as server_progress  # noqa: E402

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "importguard", "lsp"])
PROGRESS = lsp.ClientCapabilities(window=lsp.WindowClientCapabilities(work_done_progress=True))
PULLS_WITH_PROGRESS = lsp.ClientCapabilities(
    window=lsp.WindowClientCapabilities(work_done_progress=True),
    text_document=lsp.TextDocumentClientCapabilities(diagnostic=lsp.DiagnosticClientCapabilities()),
)


def project(tmp_path: Path, modules: int = 0) -> Path:
    """FILES with a pyproject.toml (the cache lives in the tree) and `modules` more
    modules that pkg/__init__.py imports (an analysis long enough to be reported)."""
    files = dict(FILES, **{"pyproject.toml": "[tool.importguard]\n"})
    imports = "".join(f"from . import m{i}\n" for i in range(modules))
    files["pkg/__init__.py"] = imports + FILES["pkg/__init__.py"]
    for i in range(modules):
        files[f"pkg/m{i}.py"] = "".join(f"import os as os{j}\nVALUE_{j} = {j} * 2\n" for j in range(60))
    root = write_tree(tmp_path, files)
    (root / ".importguard_cache").mkdir()  # as a `check` leaves it; creating it later changes root's mtime
    return root


def kinds(reports: list) -> list[str]:
    return [report.kind for report in reports]


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=PROGRESS))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_first_analysis_reports_progress_from_the_early_start(client: LanguageClient, tmp_path: Path):
    root = project(tmp_path)
    uri = open_file(client, root / "pkg" / "__init__.py")
    [diagnostic] = await diagnostics_until(client, uri, lambda d: True)
    assert diagnostic.code == "IG001"
    [(token, reports)] = client.progress_reports.items()
    assert token == "importguard-first-analysis"
    assert kinds(reports) == ["begin", *["report"] * (len(reports) - 2), "end"]
    assert reports[0].title == "importguard" and reports[0].message == "analysing __init__.py"
    # Diagnostics come after the end of the progress that announced them.
    assert client.error is None


@pytest.mark.asyncio
async def test_a_replayed_first_analysis_reports_no_progress(tmp_path: Path):
    root = project(tmp_path)
    await asyncio.sleep(2.1)  # a replay trusts no stat (mtime or ctime) younger than two seconds
    for attempt in range(2):  # the first server stores the replay, the second uses it
        async with _session(PROGRESS) as second:
            uri = open_file(second, root / "pkg" / "__init__.py")
            await diagnostics_until(second, uri, lambda d: len(d) == 1)
            seen = dict(second.progress_reports)
        if attempt == 0:
            assert seen, "a cold analysis reports progress"
    assert seen == {}


@pytest.mark.asyncio
async def test_a_long_analysis_of_the_pygls_server_reports_progress(tmp_path: Path):
    # A client that pulls diagnostics is answered by the pygls server (no early start).
    root = project(tmp_path, modules=150)
    async with _session(PULLS_WITH_PROGRESS) as pulling:
        uri = open_file(pulling, root / "pkg" / "__init__.py")
        report = await asyncio.wait_for(pulling.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))), timeout=60)
        assert [item.code for item in report.items] == ["IG001"]
        await asyncio.sleep(0.2)  # the end notification follows the answer
        [(token, reports)] = pulling.progress_reports.items()
    assert token.startswith("importguard-analysis-")
    assert kinds(reports)[0] == "begin" and kinds(reports)[-1] == "end"
    assert set(kinds(reports)[1:-1]) <= {"report"}
    assert any("files read" in (r.message or "") for r in reports), [r.message for r in reports]


class _Recorder:
    """A stand-in for the server's `work_done_progress` (pygls' Progress)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.work_done_progress = self

    async def create_async(self, token: str) -> None:
        self.sent.append(("create", token))

    def begin(self, token: str, value: lsp.WorkDoneProgressBegin) -> None:
        self.sent.append(("begin", value.message))

    def report(self, token: str, value: lsp.WorkDoneProgressReport) -> None:
        self.sent.append(("report", value.message))

    def end(self, token: str, value: lsp.WorkDoneProgressEnd) -> None:
        self.sent.append(("end", value.message))


@pytest.mark.asyncio
async def test_a_quick_analysis_shows_nothing_and_a_slow_one_begins_reports_and_ends(monkeypatch):
    loop = asyncio.get_running_loop()
    quick = _Recorder()
    progress = server_progress.AnalysisProgress(quick, loop, "analysing a.py")
    progress.tell("3 files read")
    await asyncio.sleep(0.01)
    progress.finish()
    await asyncio.sleep(server_progress.PROGRESS_AFTER_S + 0.1)
    assert quick.sent == []

    monkeypatch.setattr(server_progress, "REPORT_EVERY_S", 0.0)
    slow = _Recorder()
    progress = server_progress.AnalysisProgress(slow, loop, "analysing a.py")
    await asyncio.sleep(server_progress.PROGRESS_AFTER_S + 0.1)
    progress.tell("40 files read, 2 parsed")
    await asyncio.sleep(0.01)
    progress.finish()
    progress.tell("too late")
    await asyncio.sleep(0.01)
    token = progress.token
    assert slow.sent == [("create", token), ("begin", "analysing a.py"), ("report", "40 files read, 2 parsed"),
                         ("end", "done")]


class _session:
    """A client session on a fresh server process, with these capabilities."""

    def __init__(self, capabilities: lsp.ClientCapabilities) -> None:
        self.capabilities = capabilities

    async def __aenter__(self) -> LanguageClient:
        self.client = await SERVER.start(None)  # type: ignore[arg-type]
        await self.client.initialize_session(lsp.InitializeParams(capabilities=self.capabilities))
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.shutdown_session()
        await self.client.stop()


EARLY_WITH_PROGRESS = """
import sys
from importguard.lsp.early import EarlyStart
early = EarlyStart(sys.stdin.fileno(), sys.stdout.buffer)
early.run()
sys.stderr.buffer.write(repr((early.published is not None, early.interrupted)).encode() + b"\\n" + b"".join(early.consumed))
"""
SHOWS_PROGRESS = {"window": {"workDoneProgress": True}}
CREATED = {"jsonrpc": "2.0", "id": "importguard-first-analysis", "result": None}


def early_with_progress(messages: list[dict], cwd: Path) -> tuple[list[dict], str, bytes]:
    import subprocess

    from test_lsp_early import frame, frames

    done = subprocess.run([sys.executable, "-c", EARLY_WITH_PROGRESS], input=b"".join(frame(m) for m in messages),
                          capture_output=True, cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    state, _, consumed = done.stderr.partition(b"\n")
    return frames(done.stdout), state.decode(), consumed


def test_the_early_start_asks_for_a_token_and_keeps_the_answer_from_the_server(tmp_path: Path):
    from test_lsp_early import INITIALIZED, did_open, frame, initialize

    root = project(tmp_path)
    opened = did_open(root / "pkg" / "__init__.py")
    sent, state, consumed = early_with_progress([initialize(SHOWS_PROGRESS), INITIALIZED, opened, CREATED], root)
    methods = [m.get("method", "answer") for m in sent]
    assert methods[:3] == ["answer", "window/workDoneProgress/create", "$/progress"]
    assert methods[-3:] == ["$/progress", "window/logMessage", "textDocument/publishDiagnostics"]
    progress = [m["params"]["value"]["kind"] for m in sent if m.get("method") == "$/progress"]
    assert progress[0] == "begin" and progress[-1] == "end" and set(progress[1:-1]) <= {"report"}
    assert state == "(True, False)"  # published, not interrupted
    # The server reads again what the early start read, less the answer to its own request.
    assert consumed == b"".join(frame(m) for m in (initialize(SHOWS_PROGRESS), INITIALIZED, opened))


def test_a_message_instead_of_the_token_hands_over_without_publishing(tmp_path: Path):
    from test_lsp_early import INITIALIZED, did_open, frame, initialize

    root = project(tmp_path)
    opened = did_open(root / "pkg" / "__init__.py")
    closed = {"jsonrpc": "2.0", "method": "textDocument/didClose",
              "params": {"textDocument": {"uri": (root / "pkg" / "__init__.py").as_uri()}}}
    messages = [initialize(SHOWS_PROGRESS), INITIALIZED, opened, closed]
    sent, state, consumed = early_with_progress(messages, root)
    assert [m.get("method", "answer") for m in sent] == ["answer", "window/workDoneProgress/create"]
    assert state == "(False, True)"
    assert consumed == b"".join(frame(m) for m in messages)  # the server answers all of it
