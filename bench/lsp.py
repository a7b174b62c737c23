#!/usr/bin/env python3
"""Benchmark `importguard lsp` as an editor uses it, beside grimp's warm graph build, in
the same run (issue 14).

    python bench/lsp.py                                   # vLLM 0.33.0 from /work/trees/vllm
    python bench/lsp.py --tree PATH --package vllm --file vllm/models/kimi_k3/__init__.py

Needs pygls (the server and this client) and grimp in this interpreter. The tree is
copied to bench/.trees/lsp-<package>/ (git-ignored), since the server writes its facts
cache there. The facts cache is written beforehand by `importguard check`. Each repeat
runs two editor sessions, each a fresh server process driven by pygls's client over stdio:

- first diagnostics: from spawning the server (also shown: from `didOpen`) to the first
  `publishDiagnostics` of the opened file; once with no replay record (facts from the
  facts cache), once with the record the session before left (nothing changed since);
- after an edit: one second after the first diagnostics, from a `didChange` of the open
  buffer to the publish of that version (the server's debounce included);
- after a change on disk (one more session): from `workspace/didChangeWatchedFiles`
  for a module the open file's chains read, rewritten with a comment added, to the
  re-publish.

grimp: `grimp.build_graph(package, cache_dir=...)` in a fresh process, after one cold
build filled its cache. Medians over the repeats; targets: first diagnostics <= 1x grimp
warm, after an edit <= 0.5x grimp warm.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def prepare(tree: Path, package: str) -> Path:
    root = HERE / ".trees" / f"lsp-{package}"
    if not (root / ".prepared").exists():
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(tree / package, root / package, ignore=shutil.ignore_patterns("__pycache__", ".importguard_cache"))
        (root / "pyproject.toml").write_text("[tool.importguard]\n")  # default settings, stops the config search
        (root / ".prepared").write_text("copied\n")
    return root


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and user + system CPU seconds of a fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, command
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


class Editor:
    """pygls's client on a fresh `importguard lsp` process, recording every publish."""

    def __init__(self) -> None:
        self.client = LanguageClient("bench", "1")
        self.published: dict[str, list[lsp.PublishDiagnosticsParams]] = {}
        self.arrived = asyncio.Event()
        self.logs: list[str] = []

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: lsp.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append(params)
            self.arrived.set()

        @self.client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
        def on_register(params: lsp.RegistrationParams) -> None:
            return None

        @self.client.feature(lsp.WINDOW_LOG_MESSAGE)
        def on_log(params: lsp.LogMessageParams) -> None:
            self.logs.append(params.message)

    async def start(self, root: Path) -> None:
        await self.client.start_io(PYTHON, "-m", "importguard", "lsp", cwd=str(root))
        capabilities = lsp.ClientCapabilities(
            workspace=lsp.WorkspaceClientCapabilities(
                did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
            )
        )
        await self.client.initialize_async(lsp.InitializeParams(capabilities=capabilities, root_uri=root.as_uri()))
        self.client.initialized(lsp.InitializedParams())

    async def publish(self, uri: str, count: int, timeout: float = 120) -> lsp.PublishDiagnosticsParams:
        async def wait() -> None:
            while len(self.published.get(uri, [])) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(wait(), timeout)
        return self.published[uri][count - 1]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def cpu_seconds(self) -> float:
        """user + system CPU the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.client._server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def replayed(self) -> bool:
        return any('"replayed": true' in m for m in self.logs)


async def open_and_edit(root: Path, target: Path) -> dict[str, float]:
    """Spawn, open `target`, first diagnostics; then one edit of the buffer."""
    editor = Editor()
    spawned = time.perf_counter()
    await editor.start(root)
    uri, text = target.as_uri(), target.read_text()
    opened = time.perf_counter()
    editor.client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    first = await editor.publish(uri, 1)
    first_done = time.perf_counter()
    cpu = editor.cpu_seconds()
    replayed = editor.replayed()
    await asyncio.sleep(1.0)  # a user reads before typing; the server warms up meanwhile

    edited_at = time.perf_counter()
    editor.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        [lsp.TextDocumentContentChangeWholeDocument(text="# edited\n" + text)]))
    edit = await editor.publish(uri, 2)
    edit_done = time.perf_counter()
    assert edit.version == 2 and len(edit.diagnostics) == len(first.diagnostics), "the edit changed the findings"
    assert [d.range.start.line for d in edit.diagnostics] == [d.range.start.line + 1 for d in first.diagnostics]
    await editor.stop()
    return {"from_spawn": first_done - spawned, "from_open": first_done - opened, "cpu": cpu,
            "after_edit": edit_done - edited_at, "replayed": replayed, "findings": len(first.diagnostics)}


async def disk_changes(root: Path, target: Path, changed: Path, repeats: int) -> list[float]:
    """One session: `changed` rewritten on disk `repeats` times, each announced with
    didChangeWatchedFiles; the time to the re-publish of the open `target`."""
    editor = Editor()
    await editor.start(root)
    uri = target.as_uri()
    editor.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=target.read_text())))
    await editor.publish(uri, 1)
    await asyncio.sleep(1.0)
    original = changed.read_bytes()
    times = []
    try:
        for i in range(repeats):
            changed.write_bytes(original + f"\n# changed on disk {i}\n".encode())
            at = time.perf_counter()
            editor.client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
                [lsp.FileEvent(uri=changed.as_uri(), type=lsp.FileChangeType.Changed)]))
            await editor.publish(uri, 2 + i)
            times.append(time.perf_counter() - at)
            await asyncio.sleep(0.3)
    finally:
        changed.write_bytes(original)
    await editor.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=Path("/work/trees/vllm"), help="directory holding the package")
    parser.add_argument("--package", default="vllm")
    parser.add_argument("--file", default="vllm/models/kimi_k3/__init__.py", help="the file opened in the editor")
    parser.add_argument("--disk-edit", default="vllm/model_executor/layers/mamba/gdn/kimi_gdn_linear_attn.py",
                        help="a module the opened file's chains read, changed on disk")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    subprocess.run([PYTHON, "-m", "compileall", "-q", str(HERE.parent / "importguard")], check=True)
    root = prepare(args.tree, args.package)
    env = {**os.environ, "PYTHONPATH": str(root)}
    files = sum(1 for _ in (root / args.package).rglob("*.py"))
    print(f"tree: {args.tree / args.package} ({files} files) copied to {root}; load {os.getloadavg()[0]:.2f}")

    grimp_cache = root.parent / f"lsp-{args.package}-grimp-cache"
    shutil.rmtree(grimp_cache, ignore_errors=True)
    grimp = [PYTHON, "-c", f"import grimp; grimp.build_graph({args.package!r}, cache_dir={str(grimp_cache)!r})"]
    timed(grimp, root, env)  # cold, fills the cache
    check = subprocess.run([PYTHON, "-m", "importguard", "check", args.package, "--exit-zero"], cwd=root, env=env,
                           capture_output=True, text=True)
    print(f"facts cache warmed by `importguard check {args.package}`: {check.stderr.strip().splitlines()[-1]}")

    rows: dict[str, list[float]] = {"grimp build_graph warm": [], "first, facts cache (from spawn)": [],
                                    "first, facts cache (from didOpen)": [], "first, replayed (from spawn)": [],
                                    "first, replayed (from didOpen)": [], "after an edit": [],
                                    "grimp build_graph warm, CPU": [], "first, facts cache, server CPU": [],
                                    "first, replayed, server CPU": []}
    target = root / args.file
    findings = 0
    for _ in range(args.repeats):  # interleaved, so load drifts hit every series alike
        wall, cpu = timed(grimp, root, env)
        rows["grimp build_graph warm"].append(wall)
        rows["grimp build_graph warm, CPU"].append(cpu)
        for record in (root / ".importguard_cache").glob("replay-*.json"):
            record.unlink()  # no replay record: facts from the facts cache
        cold = asyncio.run(open_and_edit(root, target))
        assert not cold["replayed"]
        rows["first, facts cache (from spawn)"].append(cold["from_spawn"])
        rows["first, facts cache (from didOpen)"].append(cold["from_open"])
        rows["first, facts cache, server CPU"].append(cold["cpu"])
        rows["after an edit"].append(cold["after_edit"])
        replay = asyncio.run(open_and_edit(root, target))  # the record the session before left
        if replay["replayed"]:
            rows["first, replayed (from spawn)"].append(replay["from_spawn"])
            rows["first, replayed (from didOpen)"].append(replay["from_open"])
            rows["first, replayed, server CPU"].append(replay["cpu"])
        rows["after an edit"].append(replay["after_edit"])
        findings = cold["findings"]
    rows["after a change on disk"] = asyncio.run(disk_changes(root, target, root / args.disk_edit, args.repeats))
    print(f"opened: {args.file} ({findings} findings); changed on disk: {args.disk_edit}")
    for label, values in rows.items():
        if not values:
            print(f"  {label:36} no run (the server never replayed)")
            continue
        print(f"  {label:36} median {statistics.median(values):7.3f} s  (n={len(values)}, min {min(values):.3f},"
              f" max {max(values):.3f})")
    grimp_warm = statistics.median(rows["grimp build_graph warm"])
    checks = [
        ("first diagnostics, facts cache, from spawn <= 1x grimp warm", "first, facts cache (from spawn)", 1.0),
        ("first diagnostics, replayed, from spawn <= 1x grimp warm", "first, replayed (from spawn)", 1.0),
        ("first diagnostics, facts cache, from didOpen <= 1x grimp warm", "first, facts cache (from didOpen)", 1.0),
        ("first diagnostics, replayed, from didOpen <= 1x grimp warm", "first, replayed (from didOpen)", 1.0),
        ("after an edit <= 0.5x grimp warm", "after an edit", 0.5),
        ("after a change on disk <= 0.5x grimp warm", "after a change on disk", 0.5),
    ]
    cpu_grimp = statistics.median(rows["grimp build_graph warm, CPU"])
    for key in ("first, facts cache, server CPU", "first, replayed, server CPU"):
        if rows[key]:
            print(f"  (CPU, less sensitive to load: {key} / grimp CPU = {statistics.median(rows[key]) / cpu_grimp:.2f}x)")
    for label, key, limit in checks:
        if not rows[key]:
            print(f"  FAIL  {label:60} no run")
            continue
        ratio = statistics.median(rows[key]) / grimp_warm
        print(f"  {'PASS' if ratio <= limit else 'FAIL'}  {label:60} {ratio:5.2f}x")
    lsprotocol = [timed([PYTHON, "-c", "import lsprotocol.types"], root, env)[1] for _ in range(args.repeats)]
    print(f"  (for scale: `import lsprotocol.types`, which pygls needs before anything, takes"
          f" {statistics.median(lsprotocol):.3f} s CPU in a fresh process)")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    results = {key: [round(v, 4) for v in values] for key, values in rows.items()}
    (HERE / ".trees" / f"results-lsp-{args.package}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
