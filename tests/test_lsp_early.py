"""The language server's early start (lsp/early.py): its answers before pygls loads
must be the ones the pygls server gives, and the server must take over from it as if
it had read everything itself."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="the language server needs pygls: pip install -e '.[test]'")

from conftest import write_tree  # noqa: E402
from lsprotocol import types as lsp  # noqa: E402

from importguard.lsp.server import _CONVERTER, _diagnostic, create_server  # noqa: E402
from importguard.lsp.diagnostics import diagnostic_json  # noqa: E402
from importguard.lsp.early import capabilities  # noqa: E402
from importguard.lsp.protocol import _AnsweredOnce, _Prefixed  # noqa: E402
from importguard.lsp.session import Session  # noqa: E402

FILES = {
    "pkg/__init__.py": '"""Ops."""\nfrom .gemm import gemm  # kernels\nfrom .util import helper\n',
    "pkg/gemm.py": "import cutlass\n\n\ndef gemm(x):\n    return x\n",
    "pkg/util.py": "def helper():\n    return 1\n",
}

CLIENTS = [
    lsp.ClientCapabilities(),
    lsp.ClientCapabilities(general=lsp.GeneralClientCapabilities(position_encodings=["utf-8", "utf-16"])),
    lsp.ClientCapabilities(general=lsp.GeneralClientCapabilities(position_encodings=["utf-32"])),
    lsp.ClientCapabilities(general=lsp.GeneralClientCapabilities(position_encodings=["x-unknown", "utf-8"])),
    lsp.ClientCapabilities(general=lsp.GeneralClientCapabilities(position_encodings=[])),
    lsp.ClientCapabilities(text_document=lsp.TextDocumentClientCapabilities(
        synchronization=lsp.TextDocumentSyncClientCapabilities(will_save=False, did_save=True))),
    lsp.ClientCapabilities(
        notebook_document=lsp.NotebookDocumentClientCapabilities(
            synchronization=lsp.NotebookDocumentSyncClientCapabilities()),
        text_document=lsp.TextDocumentClientCapabilities(
            synchronization=lsp.TextDocumentSyncClientCapabilities(will_save=True, will_save_wait_until=True)),
        workspace=lsp.WorkspaceClientCapabilities(
            file_operations=lsp.FileOperationClientCapabilities(did_create=True, will_rename=True),
            did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)),
    ),
]


@pytest.mark.parametrize("client", CLIENTS, ids=range(len(CLIENTS)))
def test_initialize_answer_is_the_pygls_servers(client):
    server = create_server(Session())
    params = lsp.InitializeParams(capabilities=client)
    steps = server.protocol.lsp_initialize(params)
    try:
        while True:
            next(steps)
    except StopIteration as done:
        expected = json.loads(json.dumps(_CONVERTER.unstructure(done.value)))
    assert capabilities(json.loads(json.dumps(_CONVERTER.unstructure(params)))) == expected


def test_diagnostic_json_is_a_whole_lsp_diagnostic(tmp_path: Path):
    root = write_tree(tmp_path, FILES)
    path = root / "pkg" / "__init__.py"
    text = path.read_text()
    result = Session(use_cache=False).analyse(str(path), text)
    assert len(result.findings) == 1
    from pygls.workspace import TextDocument

    document = TextDocument(path.as_uri(), text)
    for finding in result.findings:
        built = diagnostic_json(finding, text.splitlines(True))
        # A key lsprotocol does not know would not survive the round trip.
        assert _CONVERTER.unstructure(_diagnostic(finding, document)) == built
        assert built["relatedInformation"] and built["codeDescription"]["href"]


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def frames(data: bytes) -> list[dict]:
    messages = []
    while data:
        header, _, rest = data.partition(b"\r\n\r\n")
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        messages.append(json.loads(rest[:length]))
        data = rest[length:]
    return messages


EARLY_ONLY = """
import sys
from importguard.lsp.early import EarlyStart
early = EarlyStart(sys.stdin.fileno(), sys.stdout.buffer)
early.run()
loaded = sorted(m for m in ("lsprotocol", "pygls.lsp", "pygls.protocol") if m in sys.modules)
print(repr((early.answered, early.published and early.published[:2], loaded)), file=sys.stderr)
"""


def run_early(messages: list[dict], cwd: Path) -> tuple[list[dict], str]:
    done = subprocess.run([sys.executable, "-c", EARLY_ONLY], input=b"".join(frame(m) for m in messages),
                          capture_output=True, cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return frames(done.stdout), done.stderr.decode().strip().splitlines()[-1]


def initialize(capabilities: dict | None = None) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": capabilities or {}}}


def did_open(path: Path, version: int = 1) -> dict:
    return {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": path.as_uri(), "languageId": "python", "version": version, "text": path.read_text()}}}


INITIALIZED = {"jsonrpc": "2.0", "method": "initialized", "params": {}}


def test_early_start_publishes_the_first_file_without_lsprotocol(tmp_path: Path):
    root = write_tree(tmp_path, FILES)
    path = root / "pkg" / "__init__.py"
    sent, state = run_early([initialize(), INITIALIZED, did_open(path)], root)
    answer, log, published = sent
    assert answer == {"jsonrpc": "2.0", "id": 1, "result": capabilities({})}
    assert log["method"] == "window/logMessage" and "importguard: analysed" in log["params"]["message"]
    assert published["method"] == "textDocument/publishDiagnostics"
    assert published["params"]["uri"] == path.as_uri() and published["params"]["version"] == 1
    [shown] = published["params"]["diagnostics"]
    assert shown["code"] == "IG001" and "pkg -> pkg.gemm -> cutlass" in shown["message"]
    assert state == repr((1, (path.as_uri(), 1), []))  # neither lsprotocol nor pygls beyond its URIs


@pytest.mark.parametrize("after_initialize", [
    [{"jsonrpc": "2.0", "id": 2, "method": "shutdown"}],  # a request: pygls answers it
    [INITIALIZED, {"jsonrpc": "2.0", "method": "textDocument/didClose",
                   "params": {"textDocument": {"uri": "file:///x.py"}}}],  # not one that may wait
    [INITIALIZED, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "untitled:Untitled-1", "languageId": "python", "version": 1, "text": "import cutlass\n"}}}],
])
def test_early_start_answers_initialize_and_leaves_the_rest(tmp_path: Path, after_initialize):
    sent, state = run_early([initialize(), *after_initialize], tmp_path)
    assert [m.get("id") for m in sent] == [1]
    assert state == repr((1, None, []))


def test_early_start_leaves_a_pulling_client_to_the_server(tmp_path: Path):
    sent, state = run_early([initialize({"textDocument": {"diagnostic": {}}})], tmp_path)
    assert sent == [] and state == repr((None, None, []))


@pytest.mark.parametrize("data", [
    b"Content-Length: x\r\n\r\n{}",
    b"x" * 5_000,  # a header line too long to be one
])
def test_early_start_stops_at_a_frame_it_cannot_read(tmp_path: Path, data: bytes):
    done = subprocess.run([sys.executable, "-c", EARLY_ONLY], input=data,
                          capture_output=True, cwd=tmp_path, timeout=60)
    assert done.stdout == b"" and done.stderr.decode().strip() == repr((None, None, []))


def test_early_start_does_not_read_a_message_over_its_limit(tmp_path: Path):
    """A frame announcing 1 GB: the early start stops at its header (the server's reader
    skips such a body in chunks) instead of waiting to read it all into memory."""
    child = subprocess.Popen([sys.executable, "-c", EARLY_ONLY], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        child.stdin.write(b"Content-Length: 1000000000\r\n\r\n" + b"x" * 100_000)
        child.stdin.flush()  # and the input stays open: the rest "is coming"
        assert child.wait(timeout=60) == 0
        assert child.stderr.read().decode().strip() == repr((None, None, []))
    finally:
        child.kill()
        child.stdin.close()


def test_server_after_the_early_start_answers_once_and_publishes_once(tmp_path: Path):
    """The whole process: the early start answers and publishes, pygls takes over,
    reads everything again, and answers what came after (an edit, then shutdown)."""
    root = write_tree(tmp_path, FILES)
    path = root / "pkg" / "__init__.py"
    edited = "# edited\n" + path.read_text()
    change = {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": path.as_uri(), "version": 2}, "contentChanges": [{"text": edited}]}}
    server = subprocess.Popen([sys.executable, "-m", "importguard", "lsp"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root)
    try:
        server.stdin.write(frame(initialize()) + frame(INITIALIZED) + frame(did_open(path)))
        server.stdin.flush()
        seen = read_until(server.stdout, lambda m: m.get("method") == "textDocument/publishDiagnostics")
        server.stdin.write(frame(change))
        server.stdin.flush()
        seen += read_until(server.stdout, lambda m: m.get("method") == "textDocument/publishDiagnostics")
        seen += shut_down(server)
    finally:
        server.kill()
    answers = [m["id"] for m in seen if "id" in m and "method" not in m]
    assert answers == [1, 2]
    publishes = [m["params"] for m in seen if m.get("method") == "textDocument/publishDiagnostics"]
    assert [p["version"] for p in publishes] == [1, 2]
    assert [[d["range"]["start"]["line"] for d in p["diagnostics"]] for p in publishes] == [[1], [2]]


@pytest.mark.parametrize("first", [
    pytest.param(b"Content-Length: x\r\n\r\n{}", id="unreadable-frame"),
    pytest.param(b"garbage without a header\n", id="garbage"),
    # Over the early start's 16 MB: the server's reader (64 MB) takes the message.
    pytest.param(frame({**initialize(), "params": {**initialize()["params"], "padding": "x" * 17_000_000}}),
                 id="initialize-over-16-MB"),
])
def test_the_server_answers_after_what_the_early_start_leaves(tmp_path: Path, first: bytes):
    """Bad or oversized input first: the early start answers nothing, the server reads
    it again and deals with it, and `initialize` is answered exactly once."""
    server = subprocess.Popen([sys.executable, "-m", "importguard", "lsp"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        oversized = len(first) > 16_000_000
        server.stdin.write(first if oversized else first + frame(initialize()))
        server.stdin.flush()
        seen = read_until(server.stdout, lambda m: m.get("id") == 1)
        seen += shut_down(server)
    finally:
        server.kill()
    answers = [m for m in seen if "id" in m and "method" not in m]
    assert [m["id"] for m in answers] == [1, 2]
    assert answers[0]["result"] == capabilities({})


def shut_down(server: subprocess.Popen) -> list[dict]:
    """`shutdown` (id 2) and `exit`; what the server sent until it exited (with 0)."""
    server.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}) +
                       frame({"jsonrpc": "2.0", "method": "exit"}))
    server.stdin.close()
    sent = frames(server.stdout.read())
    assert server.wait(timeout=30) == 0
    return sent


def read_until(stream, done) -> list[dict]:
    seen = []
    while True:
        header = b""
        while not header.endswith(b"\r\n\r\n"):
            byte = stream.read(1)
            assert byte, f"the server closed its output; it sent {seen}"
            header += byte
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        seen.append(json.loads(stream.read(length)))
        if done(seen[-1]):
            return seen


def test_prefixed_stream_reads_the_prefix_then_the_stream():
    stream = _Prefixed(b"line one\nhalf a li", io.BytesIO(b"ne\nbody-rest"))
    assert stream.readline() == b"line one\n"
    assert stream.readline() == b"half a line\n"
    assert stream.read(4) == b"body"
    assert stream.read(100) == b"-rest"
    whole = _Prefixed(b"abc", io.BytesIO(b"def"))
    assert whole.read(5) == b"abcde" and whole.read(5) == b"f"


def test_answered_once_drops_one_answer_and_nothing_else():
    class Kept:
        def __init__(self):
            self.written = []

        def write(self, data):
            self.written.append(data)

    kept = Kept()
    writer = _AnsweredOnce(kept, 1)
    notice = frame({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"type": 4, "message": "x"}})
    request = frame({"jsonrpc": "2.0", "id": 1, "method": "client/registerCapability", "params": {}})
    for data in (notice, request, frame({"jsonrpc": "2.0", "id": 1, "result": {}}),
                 frame({"jsonrpc": "2.0", "id": 1, "result": None})):
        writer.write(data)
    assert kept.written == [notice, request, frame({"jsonrpc": "2.0", "id": 1, "result": None})]
