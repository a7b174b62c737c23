#!/usr/bin/env python3
"""Benchmark `importguard lsp` as an editor uses it, beside grimp's warm graph build, in
the same run (issue 14).

    python bench/lsp.py                                   # vLLM 0.33.0 from /work/trees/vllm
    python bench/lsp.py --tree PATH --package vllm --file vllm/models/kimi_k3/__init__.py

Needs pygls (the server and this client) and grimp in this interpreter. The tree is
copied to bench/.trees/lsp-<package>/ (git-ignored), since the server writes its facts
cache there. Each repeat starts a fresh server process with pygls's client over stdio:

- first diagnostics, warm cache: from spawning the server to the first
  `publishDiagnostics` of the opened file, the facts cache written beforehand by
  `importguard check` (also shown: from `didOpen`);
- after an edit: from a `didChange` of the open buffer to the publish of that version
  (the server's 0.15 s debounce included);
- after a change on disk: from `workspace/didChangeWatchedFiles` for a module the open
  file's chains read (rewritten with a comment added) to the re-publish.

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


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


async def one_session(root: Path, target: Path, disk_edit: Path) -> dict[str, float]:
    client = LanguageClient("bench", "1")
    published: dict[str, list[lsp.PublishDiagnosticsParams]] = {}
    arrived = asyncio.Event()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: lsp.PublishDiagnosticsParams) -> None:
        published.setdefault(params.uri, []).append(params)
        arrived.set()

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: lsp.RegistrationParams) -> None:
        return None

    @client.feature(lsp.WINDOW_LOG_MESSAGE)
    def on_log(params: lsp.LogMessageParams) -> None:
        return None

    async def wait_for(uri: str, count: int, timeout: float = 120) -> lsp.PublishDiagnosticsParams:
        async def wait() -> None:
            while len(published.get(uri, [])) < count:
                arrived.clear()
                await arrived.wait()

        await asyncio.wait_for(wait(), timeout)
        return published[uri][count - 1]

    spawned = time.perf_counter()
    await client.start_io(PYTHON, "-m", "importguard", "lsp", cwd=str(root))
    capabilities = lsp.ClientCapabilities(
        workspace=lsp.WorkspaceClientCapabilities(
            did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
        )
    )
    await client.initialize_async(lsp.InitializeParams(capabilities=capabilities, root_uri=root.as_uri()))
    client.initialized(lsp.InitializedParams())
    uri = target.as_uri()
    text = target.read_text()
    opened = time.perf_counter()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    first = await wait_for(uri, 1)
    first_done = time.perf_counter()

    edited_at = time.perf_counter()
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(text="# edited\n" + text)],
        )
    )
    edit = await wait_for(uri, 2)
    edit_done = time.perf_counter()
    assert edit.version == 2 and len(edit.diagnostics) == len(first.diagnostics), "the edit changed the findings"
    assert [d.range.start.line for d in edit.diagnostics] == [d.range.start.line + 1 for d in first.diagnostics]

    original = disk_edit.read_bytes()
    try:
        disk_edit.write_bytes(original + b"\n# changed on disk\n")
        disk_at = time.perf_counter()
        client.workspace_did_change_watched_files(
            lsp.DidChangeWatchedFilesParams([lsp.FileEvent(uri=disk_edit.as_uri(), type=lsp.FileChangeType.Changed)])
        )
        await wait_for(uri, 3)
        disk_done = time.perf_counter()
    finally:
        disk_edit.write_bytes(original)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "first_from_spawn_s": first_done - spawned,
        "first_from_open_s": first_done - opened,
        "after_edit_s": edit_done - edited_at,
        "after_disk_change_s": disk_done - disk_at,
        "findings": len(first.diagnostics),
    }


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

    rows: dict[str, list[float]] = {"grimp build_graph warm": []}
    sessions = []
    for _ in range(args.repeats):  # interleaved, so load drifts hit both alike
        rows["grimp build_graph warm"].append(timed(grimp, root, env))
        sessions.append(asyncio.run(one_session(root, root / args.file, root / args.disk_edit)))
    for key in ("first_from_spawn_s", "first_from_open_s", "after_edit_s", "after_disk_change_s"):
        rows[key] = [s[key] for s in sessions]
    print(f"opened: {args.file} ({sessions[0]['findings']} findings); disk change: {args.disk_edit}")
    for label, values in rows.items():
        print(f"  {label:28} median {statistics.median(values):7.3f} s  (n={len(values)}, min {min(values):.3f},"
              f" max {max(values):.3f})")
    grimp_warm = statistics.median(rows["grimp build_graph warm"])
    checks = [
        ("first diagnostics (warm cache, from spawn) <= 1x grimp warm", statistics.median(rows["first_from_spawn_s"]), 1.0),
        ("after an edit <= 0.5x grimp warm", statistics.median(rows["after_edit_s"]), 0.5),
        ("after a change on disk <= 0.5x grimp warm", statistics.median(rows["after_disk_change_s"]), 0.5),
    ]
    for label, value, limit in checks:
        ratio = value / grimp_warm
        print(f"  {'PASS' if ratio <= limit else 'FAIL'}  {label:60} {ratio:5.2f}x")
    results = {key: [round(v, 4) for v in values] for key, values in rows.items()}
    (HERE / ".trees" / f"results-lsp-{args.package}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
