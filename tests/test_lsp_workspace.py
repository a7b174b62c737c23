"""`importguard lsp` as editors use it, end to end with pytest-lsp's client: the facts
cache, analysis off the request loop, debouncing, files changed on disk, pull
diagnostics, rule links and the fix-all source action."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

pytest.importorskip("pygls", reason="the language server needs pygls: pip install -e '.[test]'")
pytest_lsp = pytest.importorskip("pytest_lsp", reason="the LSP tests need pytest-lsp: pip install -e '.[test]'")

import libcst  # noqa: E402
from conftest import write_tree  # noqa: E402
from test_lsp import apply  # noqa: E402  (one way to apply a TextEdit, for both LSP test files)
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

INIT = "from .gemm import gemm\nfrom .attn import attn\nfrom .util import helper\n"
FILES = {
    "pyproject.toml": "[tool.importguard]\n",
    "pkg/__init__.py": INIT,
    "pkg/gemm.py": "import cutlass\n\n\ndef gemm(x):\n    return x\n",
    "pkg/attn.py": "import cutlass\n\n\ndef attn(x):\n    return x\n",
    "pkg/util.py": "def helper():\n    return 1\n",
    "other/__init__.py": "from .leaf import f\n",
    "other/leaf.py": "def f():\n    return 1\n",
}
PUSH = lsp.ClientCapabilities()
WATCHING = lsp.ClientCapabilities(
    workspace=lsp.WorkspaceClientCapabilities(
        did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
    )
)
PULL = lsp.ClientCapabilities(
    text_document=lsp.TextDocumentClientCapabilities(diagnostic=lsp.DiagnosticClientCapabilities()),
    workspace=lsp.WorkspaceClientCapabilities(diagnostics=lsp.DiagnosticWorkspaceClientCapabilities(refresh_support=True)),
)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "importguard", "lsp"]))
async def client(lsp_client: LanguageClient):
    """The client before `initialize`: each test picks its capabilities. It records
    every publish (not only the last) and every registration."""
    lsp_client.published = []
    lsp_client.registrations = []

    features = lsp_client.protocol.fm._features  # pytest-lsp's own handler keeps only the last
    keep_last = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def published(params: lsp.PublishDiagnosticsParams) -> None:
        keep_last(params)
        lsp_client.published.append(params)

    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = published

    @lsp_client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register(params: lsp.RegistrationParams) -> None:
        lsp_client.registrations.extend(params.registrations)

    yield
    await lsp_client.shutdown_session()


async def start(client: LanguageClient, capabilities: lsp.ClientCapabilities) -> lsp.InitializeResult:
    return await client.initialize_session(lsp.InitializeParams(capabilities=capabilities))


async def until(client: LanguageClient, done: Callable[[], bool], timeout: float = 30) -> None:
    async def wait() -> None:
        while not done():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout=timeout)


def publishes(client: LanguageClient, uri: str) -> list[lsp.PublishDiagnosticsParams]:
    return [p for p in client.published if p.uri == uri]


def open_file(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=path.read_text() if text is None else text)
        )
    )
    return uri


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [lsp.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def stats(client: LanguageClient) -> list[dict]:
    """The server's per-analysis log lines (`importguard: analysed ...`)."""
    prefix = "importguard: analysed "
    return [json.loads(m.message[len(prefix):]) for m in client.log_messages if m.message.startswith(prefix)]



async def opened_package(client: LanguageClient, tmp_path: Path) -> tuple[Path, str]:
    """FILES written, a push client started, `pkg/__init__.py` opened and published once."""
    root = write_tree(tmp_path, FILES)
    await start(client, PUSH)
    uri = open_file(client, root / "pkg" / "__init__.py")
    await until(client, lambda: publishes(client, uri))
    return root, uri

@pytest.mark.asyncio
async def test_the_first_analysis_reads_the_facts_cache_and_an_edit_parses_one_file(
    client: LanguageClient, tmp_path: Path
):
    root = write_tree(tmp_path, FILES)
    warmed = subprocess.run([sys.executable, "-m", "importguard", "check", "pkg"], cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert warmed.returncode == 1 and list((root / ".importguard_cache").glob("facts-*.sqlite"))
    await start(client, PUSH)

    uri = open_file(client, root / "pkg" / "__init__.py")
    await until(client, lambda: publishes(client, uri))
    assert [d.code for d in publishes(client, uri)[-1].diagnostics] == ["IG001", "IG001"]
    [first] = stats(client)
    assert first["parsed_from_disk"] == 0  # gemm.py, attn.py and util.py came from the cache
    assert first["files_read"] == 4

    change(client, uri, 2, "from .util import helper\n" + INIT)
    await until(client, lambda: len(stats(client)) == 2)
    assert stats(client)[1]["parsed_from_disk"] == 0  # the buffer is parsed, nothing else


@pytest.mark.asyncio
async def test_without_a_cache_the_server_parses_and_writes_it(client: LanguageClient, tmp_path: Path):
    root, uri = await opened_package(client, tmp_path)
    assert stats(client)[0]["parsed_from_disk"] == 4  # the buffer is the file on disk: cached too
    await until(client, lambda: list((root / ".importguard_cache").glob("facts-*.sqlite")))
    [index] = (root / ".importguard_cache").glob("facts-*.sqlite")
    entries = [name for (name,) in sqlite3.connect(index).execute("SELECT name FROM files")]
    assert sorted(Path(p).name for p in entries) == ["__init__.py", "attn.py", "gemm.py", "util.py"]


async def settle() -> None:
    """A replay record trusts no stat (mtime or ctime) younger than two seconds."""
    await asyncio.sleep(2.1)


async def lone_session(root: Path, path: Path) -> tuple[list[lsp.PublishDiagnosticsParams], list[dict]]:
    """A whole editor session in its own server process: open `path`, wait for its
    diagnostics and for the server to go idle, shut down."""
    from pygls.lsp.client import LanguageClient as Client

    client = Client("test", "1")
    published: list[lsp.PublishDiagnosticsParams] = []
    logs: list[str] = []

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: lsp.PublishDiagnosticsParams) -> None:
        published.append(params)

    @client.feature(lsp.WINDOW_LOG_MESSAGE)
    def on_log(params: lsp.LogMessageParams) -> None:
        logs.append(params.message)

    await client.start_io(sys.executable, "-m", "importguard", "lsp", cwd=str(root))
    await client.initialize_async(lsp.InitializeParams(capabilities=PUSH))
    client.initialized(lsp.InitializedParams())
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=path.read_text())))
    prefix = "importguard: analysed "
    analyses = lambda: [json.loads(m[len(prefix):]) for m in logs if m.startswith(prefix)]
    await asyncio.wait_for(_until(lambda: published and len(analyses()) >= 1), 60)
    if analyses()[0]["replayed"]:  # the warm-up follows in the background: wait for it, however busy the box
        await asyncio.wait_for(_until(lambda: len(analyses()) >= 2), 60)
    await asyncio.sleep(1.0)  # the cache write after the publish
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return published, analyses()


async def _until(done: Callable[[], bool]) -> None:
    while not done():
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_a_new_server_replays_the_last_findings_when_nothing_changed(tmp_path: Path):
    root = write_tree(tmp_path, FILES)
    (root / ".importguard_cache").mkdir()  # as a `check` run leaves it; creating it changes root's mtime
    await settle()
    init = root / "pkg" / "__init__.py"
    first, analyses = await lone_session(root, init)
    assert [d.code for d in first[0].diagnostics] == ["IG001", "IG001"] and analyses[0]["replayed"] is False

    again, analyses = await lone_session(root, init)
    assert again[0].diagnostics == first[0].diagnostics
    assert analyses[0]["replayed"] is True
    assert analyses[1]["replayed"] is False and analyses[1]["parsed_from_disk"] == 0  # the warm-up, from the cache

    # A changed dependency is not replayed.
    (root / "pkg" / "attn.py").write_text("def attn(x):\n    return x\n")
    changed, analyses = await lone_session(root, init)
    assert analyses[0]["replayed"] is False and len(changed[0].diagnostics) == 1


@pytest.mark.asyncio
async def test_requests_are_answered_while_an_analysis_runs(client: LanguageClient, tmp_path: Path):
    # A module that takes a while to collect (about 1 s here).
    slow = "".join(f"value_{i} = [{i}, {{'k': ({i}, {i} * 2)}}, f'{{value_{max(i - 1, 0)}}}']\n" for i in range(900))
    root = write_tree(tmp_path, {**FILES, "pkg/slow.py": slow})
    await start(client, PUSH)
    other = open_file(client, root / "other" / "__init__.py")
    await until(client, lambda: publishes(client, other))

    uri = open_file(client, root / "pkg" / "slow.py")
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=other),
            range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
            context=lsp.CodeActionContext(diagnostics=[], only=[lsp.CodeActionKind.QuickFix]),
        )
    )
    assert list(actions) == []
    # The answer came while the slow file was still being analysed.
    assert publishes(client, uri) == []
    await until(client, lambda: publishes(client, uri))


@pytest.mark.asyncio
async def test_a_burst_of_changes_is_analysed_once(client: LanguageClient, tmp_path: Path):
    root, uri = await opened_package(client, tmp_path)
    before = len(stats(client))

    for version in range(2, 7):  # five edits 30 ms apart
        change(client, uri, version, "\n" * version + INIT)
        await asyncio.sleep(0.03)
    await until(client, lambda: publishes(client, uri)[-1].version == 6)
    await asyncio.sleep(0.5)
    assert [p.version for p in publishes(client, uri)] == [1, 6]
    assert len(stats(client)) == before + 1
    assert [d.range.start.line for d in publishes(client, uri)[-1].diagnostics] == [6, 7]


@pytest.mark.asyncio
async def test_a_file_changed_on_disk_re_publishes_the_open_files_it_affects(client: LanguageClient, tmp_path: Path):
    root = write_tree(tmp_path, FILES)
    await start(client, WATCHING)
    await until(client, lambda: client.registrations)
    [registration] = client.registrations
    assert registration.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
    globs = [w["globPattern"] for w in registration.register_options["watchers"]]
    assert globs == ["**/*.py", "**/pyproject.toml"]

    init = open_file(client, root / "pkg" / "__init__.py")
    other = open_file(client, root / "other" / "__init__.py")
    await until(client, lambda: publishes(client, init) and publishes(client, other))
    assert len(publishes(client, init)[-1].diagnostics) == 2

    # Another process (git checkout, a formatter) rewrites gemm.py; the editor only
    # says that it changed.
    gemm = root / "pkg" / "gemm.py"
    gemm.write_text("def gemm(x):\n    return x\n")
    count = len(client.published)
    client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(changes=[lsp.FileEvent(uri=gemm.as_uri(), type=lsp.FileChangeType.Changed)])
    )
    await until(client, lambda: len(publishes(client, init)) == 2)
    [left] = publishes(client, init)[-1].diagnostics
    assert "pkg -> pkg.attn -> cutlass" in left.message
    await asyncio.sleep(0.5)
    assert [p.uri for p in client.published[count:]] == [init]  # other/ never read gemm.py

    # A new file is structural: every open file is analysed again.
    (root / "pkg" / "new.py").write_text("X = 1\n")
    client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            changes=[lsp.FileEvent(uri=(root / "pkg" / "new.py").as_uri(), type=lsp.FileChangeType.Created)]
        )
    )
    await until(client, lambda: len(publishes(client, init)) == 3 and len(publishes(client, other)) == 2)


@pytest.mark.asyncio
async def test_pull_diagnostics_where_the_client_asks(client: LanguageClient, tmp_path: Path):
    root = write_tree(tmp_path, FILES)
    initialized = await start(client, PULL)
    assert initialized.capabilities.diagnostic_provider.inter_file_dependencies is True
    uri = open_file(client, root / "pkg" / "__init__.py")
    report = await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    assert report.kind == "full" and [d.code for d in report.items] == ["IG001", "IG001"]
    again = await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id)
    )
    assert again.kind == "unchanged" and again.result_id == report.result_id

    change(client, uri, 2, "from .util import helper\n")
    edited = await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id)
    )
    assert edited.kind == "full" and list(edited.items) == []
    await asyncio.sleep(0.3)
    assert client.published == []  # a pulling client gets no pushes

    (root / "pkg" / "gemm.py").write_text("X = 1\n")
    client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            changes=[lsp.FileEvent(uri=(root / "pkg" / "gemm.py").as_uri(), type=lsp.FileChangeType.Changed)]
        )
    )
    await until(client, lambda: client.diagnostic_refresh_count == 1)


@pytest.mark.asyncio
async def test_each_diagnostic_links_to_its_rule_doc(client: LanguageClient, tmp_path: Path):
    root, uri = await opened_package(client, tmp_path)
    [href] = {d.code_description.href for d in publishes(client, uri)[-1].diagnostics}
    assert href.startswith("file://") and href.endswith("/IG001.md")
    assert Path(url2pathname(urlparse(href).path)).read_text().startswith("# IG001 `init-imports-cuda-sink`")


@pytest.mark.asyncio
async def test_the_source_action_makes_every_re_export_lazy(client: LanguageClient, tmp_path: Path):
    root, uri = await opened_package(client, tmp_path)
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
            context=lsp.CodeActionContext(diagnostics=[], only=[lsp.CodeActionKind.SourceFixAll]),
        )
    )
    [action] = actions
    assert action.kind == "source.fixAll.importguard"
    [edit] = action.edit.changes[uri]
    fixed = apply(INIT, edit)
    libcst.parse_module(fixed)
    assert 'if name == "gemm":' in fixed and 'elif name == "attn":' in fixed
    assert "from .util import helper\n" in fixed

    change(client, uri, 2, fixed)
    await until(client, lambda: publishes(client, uri)[-1].version == 2)
    assert list(publishes(client, uri)[-1].diagnostics) == []
    quick_only = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
            context=lsp.CodeActionContext(diagnostics=[], only=[lsp.CodeActionKind.SourceFixAll]),
        )
    )
    assert list(quick_only) == []  # nothing left to fix


def test_an_unknown_selector_in_the_config_is_a_config_error_for_the_server(tmp_path: Path):
    """As for `importguard check`: the server reports the bad selector as the config's
    problem (and lints with the defaults), not as an internal error later."""
    from importguard.lsp.session import Session

    write_tree(tmp_path, {"pyproject.toml": '[tool.importguard]\nselect = ["IG100"]\n', "pkg/__init__.py": ""})
    config, error = Session(use_cache=False).config_for(str(tmp_path / "pkg" / "__init__.py"))
    assert error is not None and "`IG100`" in error and "did you mean `IG001`?" in error
    assert config.select == ()
