"""`importguard lsp`: a language server over stdio (pygls).

Diagnostics for each open Python file, pushed after open, change (debounced) and save,
or pulled (`textDocument/diagnostic`) where the client supports it. The open file is
analysed from its editor buffer (saved or not), the rest of the graph from disk, through
a `Session` (session.py) that keeps facts between analyses and reads the on-disk
facts cache first. Analyses run in one worker thread, so requests are answered while
one runs; a result for a buffer version that has moved on is dropped. Files changed on
disk (`workspace/didChangeWatchedFiles`, registered dynamically) re-analyse every open
file they can affect. An analysis that runs long shows work-done progress (progress.py).
A broken config is shown once (`window/showMessage`) and the file
is linted with the defaults. Each diagnostic carries the chain in its message, one
related location per hop, and a link to its rule's documentation. Code actions: add a
`# noqa: CODE` comment, make one `__init__.py` re-export lazy, and a source action that
makes all of the file's lazy-fixable re-exports lazy.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional, Sequence

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.protocol import default_converter
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from importguard import __version__
from importguard.facts.comments import comments as source_comments
from importguard.lsp.diagnostics import SOURCE, diagnostic_json
from importguard.lsp.progress import AnalysisProgress
from importguard.lsp.protocol import RobustProtocol, start_io
from importguard.lsp.session import Analysis, Session
from importguard.model import Finding

_CONVERTER = default_converter()
DEBOUNCE_S = 0.075  # after a change; a burst of keystrokes is analysed once
WATCH_DEBOUNCE_S = 0.05  # a `git checkout` changes many files in a burst
FIX_ALL_KIND = f"{lsp.CodeActionKind.SourceFixAll.value}.importguard"
WATCHERS = ("**/*.py", "**/pyproject.toml")


class ImportguardServer(LanguageServer):
    def __init__(self, session: Optional[Session] = None) -> None:
        super().__init__("importguard", __version__, protocol_cls=RobustProtocol)
        self.session = session or Session()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="importguard-analysis")
        self.results: dict[str, tuple[int, Analysis]] = {}  # uri -> (version, last analysis)
        self.fixes = FixMemo()  # code actions' fixer answers, per buffer version
        self.running: dict[str, tuple[int, asyncio.Task[Optional[Analysis]]]] = {}  # uri -> (version, analysis under way)
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.queue: dict[str, None] = {}  # uris waiting for analysis, in order
        self.draining: Optional[asyncio.Task[None]] = None
        self.shown_config_errors: set[str] = set()
        self.preloaded = False
        self.published_early: dict[str, int] = {}  # uri -> the version early.py published

    # -- client capabilities

    @property
    def pulls(self) -> bool:
        """The client asks for diagnostics (pull) instead of waiting for them (push)."""
        text = self.client_capabilities.text_document
        return text is not None and text.diagnostic is not None

    def _can_refresh(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.diagnostics and workspace.diagnostics.refresh_support)

    def _shows_progress(self) -> bool:
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)

    def _can_watch(self) -> bool:
        workspace = self.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        return bool(watched and watched.dynamic_registration)

    # -- analysis

    async def analysis(self, document: TextDocument) -> Optional[Analysis]:
        """The analysis of the document as it is now; None when it changed meanwhile
        (the newer version has its own analysis coming)."""
        version = document.version
        cached = self.results.get(document.uri)
        if cached is not None and cached[0] == version and version is not None:
            return cached[1]
        running = self.running.get(document.uri)
        if running is not None and running[0] == version and version is not None:
            # The same buffer is being analysed for another request (a pull and a code
            # action, say): share that analysis instead of queueing a second one.
            return await asyncio.shield(running[1])
        task = asyncio.get_running_loop().create_task(self._analyse(document))
        self.running[document.uri] = (version, task)
        try:
            return await asyncio.shield(task)
        finally:
            if self.running.get(document.uri, (None, None))[1] is task:
                del self.running[document.uri]

    async def _analyse(self, document: TextDocument) -> Optional[Analysis]:
        version, text = document.version, document.source
        loop = asyncio.get_running_loop()
        progress = AnalysisProgress(self, loop, f"analysing {os.path.basename(document.path)}") if self._shows_progress() else None
        tell = progress.tell if progress is not None else None
        try:
            result = await loop.run_in_executor(self.worker, self.session.analyse, document.path, text, tell)
        except Exception as error:  # never let one file take the server down
            message = f"importguard: internal error while analysing {document.path}: {type(error).__name__}: {error}"
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, message))
            self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, message))
            return Analysis((), frozenset(), error=message)  # not kept: the next change tries again
        finally:
            if progress is not None:
                progress.finish()
        self._log_analysis(document.path, result)
        self._tell_config_error(document.path, result.config_error)
        self._tell_warnings()
        if document.uri not in self.workspace.text_documents or self.workspace.get_text_document(document.uri).version != version:
            return None  # stale
        self.results[document.uri] = (version, result)
        self.after_analysis(document, result)
        return result

    def _tell_config_error(self, path: str, error: Optional[str]) -> None:
        if error is None:
            self.shown_config_errors = {e for e in self.shown_config_errors if not _about(e, path)}
            return
        self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Warning, f"importguard: {error}"))
        if error not in self.shown_config_errors:
            self.shown_config_errors.add(error)
            self.window_show_message(
                lsp.ShowMessageParams(lsp.MessageType.Warning, f"importguard: {error}; linting with the default settings")
            )

    def _tell_warnings(self) -> None:
        while self.session.warnings:
            warning = self.session.warnings.pop(0)
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Warning, f"importguard: {warning}"))

    async def publish(self, uri: str) -> None:
        if uri not in self.workspace.text_documents:
            return
        document = self.workspace.get_text_document(uri)
        if not _is_python_file(document):
            return
        result = await self.analysis(document)
        if result is None or result.error:
            return  # stale, or failed: an empty list would claim the file is clean
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=uri, diagnostics=[_diagnostic(f, document) for f in result.findings], version=document.version
            )
        )

    def after_analysis(self, document: TextDocument, result: Analysis) -> None:
        """Work the answer (pushed or pulled) did not wait for, queued in the worker
        behind it: the facts that a replayed answer skipped (for the next edit), and the
        facts cache."""
        if result.replayed:
            loop = asyncio.get_running_loop()
            path = document.path

            def warm() -> None:
                warmed = self.session.warm(path)
                if warmed is not None:
                    loop.call_soon_threadsafe(self._log_analysis, path, warmed)

            self.worker.submit(warm)
        self.worker.submit(self.session.save)
        if not self.preloaded:
            self.preloaded = True
            self.worker.submit(_preload)

    def _log_analysis(self, path: str, result: Analysis) -> None:
        self.window_log_message(
            lsp.LogMessageParams(lsp.MessageType.Log, "importguard: analysed " + json.dumps(result.summary(path)))
        )

    # -- scheduling: debounce per document, then one analysis at a time

    def soon(self, uri: str, delay: float) -> None:
        if self.pulls:
            return  # the client asks when it wants them
        timer = self.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        if delay <= 0:
            self._enqueue(uri)
        else:
            self.timers[uri] = loop.call_later(delay, self._enqueue, uri)

    def _enqueue(self, uri: str) -> None:
        self.timers.pop(uri, None)
        self.queue[uri] = None
        if self.draining is None or self.draining.done():
            self.draining = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self.queue:
            uri = next(iter(self.queue))
            del self.queue[uri]
            await self.publish(uri)

    def files_changed(self, paths: Sequence[str], structural: bool) -> None:
        """Files changed on disk: re-analyse the open files that read one of them, or
        every open file when a file appeared or went away or a config changed (module
        names and settings may differ then)."""
        self.worker.submit(self.session.forget, paths)
        changed = {os.path.abspath(p) for p in paths}
        for uri in sorted(self.workspace.text_documents):
            cached = self.results.get(uri)
            if structural or cached is None or cached[1].consulted & changed:
                self.results.pop(uri, None)
                self.running.pop(uri, None)  # a request from now on waits for an analysis that sees the change
                self.soon(uri, WATCH_DEBOUNCE_S)
        if self.pulls and self._can_refresh():
            self.workspace_diagnostic_refresh(None)

    def watch_files(self) -> None:
        if not self._can_watch():
            return
        watchers = [lsp.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHERS]
        registration = lsp.Registration(
            id="importguard-watched-files",
            method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
        )
        self.client_register_capability(lsp.RegistrationParams(registrations=[registration]))


def _preload() -> None:
    """Import LibCST and the fixer while idle: the first edit and code action need them,
    the first diagnostics do not."""
    import importguard.facts.collect  # noqa: F401
    import importguard.fix.lazy_reexport  # noqa: F401


def _about(error: str, path: str) -> bool:
    """A config error message names its file; does it concern `path`'s project?"""
    file = error.split(":", 1)[0]
    return os.path.isabs(file) and os.path.abspath(path).startswith(os.path.dirname(file) + os.sep)


def _is_python_file(document: TextDocument) -> bool:
    return document.uri.startswith("file:") and bool(document.path) and document.path.endswith(".py")


def _diagnostic(finding: Finding, document: TextDocument) -> lsp.Diagnostic:
    return _CONVERTER.structure(diagnostic_json(finding, document.lines), lsp.Diagnostic)


def _result_id(diagnostics: Sequence[lsp.Diagnostic]) -> str:
    text = repr([(d.range, d.code, d.message) for d in diagnostics])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


# ----------------------------------------------------------------------------- code actions


def noqa_edit(document: TextDocument, code: str, first: int, last: int) -> Optional[lsp.TextEdit]:
    """Append `# noqa: CODE` to the first line of the site that can take a comment (not
    one that ends in a backslash), or add CODE to the noqa comment already there."""
    from importguard.fix.add_noqa import noqa_line  # the line --add-noqa picks too

    lines = document.lines
    number = noqa_line(document.source, first, last)
    if number is None or number > len(lines):
        return None
    index = number - 1
    comment = source_comments(document.source).get(number)
    if comment is not None:
        column, body = comment
        lowered = body.lower()
        if lowered.find("noqa:") >= 0:
            end = column + len(body)
            return lsp.TextEdit(lsp.Range(lsp.Position(index, end), lsp.Position(index, end)), f", {code}")
        if "noqa" in lowered:
            return None  # a bare noqa comment already silences every code
    end = len(lines[index].rstrip("\r\n"))
    return lsp.TextEdit(lsp.Range(lsp.Position(index, end), lsp.Position(index, end)), f"  # noqa: {code}")


class FixMemo:
    """The lazy re-export fixer's answers (fix_text) for the buffer version code actions
    were asked about: an editor asks again at every cursor move and every diagnostics
    refresh, and each answer is a LibCST parse of the whole file (0.2-0.5 s for a large
    `__init__.py` of vLLM). The answer depends on the buffer alone, so its version keys it."""

    def __init__(self) -> None:
        self._by_uri: dict[str, tuple[int, dict[tuple[Any, ...], Optional[str]]]] = {}
        self.computed = 0  # fixer runs (tests)

    def new_text(self, document: TextDocument, sites: Sequence[tuple[int, int]], package: str) -> Optional[str]:
        from importguard.fix.lazy_reexport import fix_text  # LibCST: loaded when first needed, not at start

        version = document.version
        if version is None:  # unversioned: nothing tells two buffers apart
            self.computed += 1
            return fix_text(document.source, list(sites), package)[0]
        kept = self._by_uri.get(document.uri)
        if kept is None or kept[0] != version:
            kept = self._by_uri[document.uri] = (version, {})
        key = (tuple(sites), package)
        if key not in kept[1]:
            self.computed += 1
            kept[1][key] = fix_text(document.source, list(sites), package)[0]
        return kept[1][key]

    def forget(self, uri: str) -> None:
        self._by_uri.pop(uri, None)


def code_actions(document: TextDocument, diagnostics: Sequence[lsp.Diagnostic],
                 fixes: Optional[FixMemo] = None) -> list[lsp.CodeAction]:
    from importguard.fix.lazy_reexport import FIXABLE_CODES  # LibCST: loaded when first needed, not at start

    fixes = fixes if fixes is not None else FixMemo()

    actions: list[lsp.CodeAction] = []
    for diagnostic in diagnostics:
        if diagnostic.source != SOURCE or not isinstance(diagnostic.data, dict):
            continue
        data: dict[str, Any] = diagnostic.data
        code = str(diagnostic.code)
        edit = noqa_edit(document, code, int(data["line"]), int(data["end_line"]))
        if edit is not None:
            actions.append(
                lsp.CodeAction(
                    title=f"Add `# noqa: {code}` (importguard)",
                    kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=lsp.WorkspaceEdit(changes={document.uri: [edit]}),
                )
            )
        if code in FIXABLE_CODES and Path(document.path).name == "__init__.py":
            sites = [(int(data["line"]), int(data["column"]))]
            sites += [(int(line), int(column)) for line, column in data.get("repeats", ())]
            new_text = fixes.new_text(document, sites, str(data["package"]))
            if new_text is not None:
                actions.append(
                    lsp.CodeAction(
                        title="Make this re-export lazy (PEP 562 __getattr__)",
                        kind=lsp.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=True,
                        edit=lsp.WorkspaceEdit(changes={document.uri: [_replace_all(document, new_text)]}),
                    )
                )
    return actions


def fix_all_action(document: TextDocument, findings: Sequence[Finding],
                   fixes: Optional[FixMemo] = None) -> Optional[lsp.CodeAction]:
    """One edit that makes every fixable re-export of the file lazy, as `check --fix` does."""
    from importguard.fix.lazy_reexport import is_fixable

    fixes = fixes if fixes is not None else FixMemo()

    fixable = [f for f in findings if is_fixable(f)]
    if not fixable:
        return None
    package = next((f.chain[0].importer for f in fixable if f.chain), "")
    new_text = fixes.new_text(document, [site for f in fixable for site in f.sites], package)
    if new_text is None or new_text == document.source:
        return None
    return lsp.CodeAction(
        title="Make all eager re-exports that reach a CUDA sink lazy (importguard)",
        kind=FIX_ALL_KIND,
        edit=lsp.WorkspaceEdit(changes={document.uri: [_replace_all(document, new_text)]}),
    )


def _wants(only: Optional[Sequence[str]], kind: str) -> bool:
    """Does the client's `only` filter (None: everything) admit actions of `kind`?"""
    return only is None or any(kind == k or kind.startswith(k + ".") for k in only)


def _replace_all(document: TextDocument, new_text: str) -> lsp.TextEdit:
    lines = document.lines
    if not lines:
        end = lsp.Position(0, 0)
    elif lines[-1].endswith("\n"):
        end = lsp.Position(len(lines), 0)
    else:
        end = lsp.Position(len(lines) - 1, len(lines[-1]))
    return lsp.TextEdit(lsp.Range(lsp.Position(0, 0), end), new_text)


# ----------------------------------------------------------------------------- wiring


def create_server(session: Optional[Session] = None) -> ImportguardServer:
    server = ImportguardServer(session)

    @server.feature(lsp.INITIALIZED)
    def initialized(ls: ImportguardServer, params: lsp.InitializedParams) -> None:
        ls.watch_files()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ImportguardServer, params: lsp.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        if ls.published_early.pop(uri, None) == params.text_document.version:
            ls.after_analysis(ls.workspace.get_text_document(uri), ls.results[uri][1])
            return
        ls.soon(uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ImportguardServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.soon(params.text_document.uri, DEBOUNCE_S)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ImportguardServer, params: lsp.DidSaveTextDocumentParams) -> None:
        # A saved leaf module can change the findings of every open file that reaches it
        # (clients that watch files send the same news as didChangeWatchedFiles too).
        path = to_fs_path(params.text_document.uri)
        if path:
            ls.files_changed([path], structural=False)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: ImportguardServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        paths = [p for p in (to_fs_path(change.uri) for change in params.changes) if p]
        structural = any(
            change.type != lsp.FileChangeType.Changed or not change.uri.endswith(".py") for change in params.changes
        )
        ls.files_changed(paths, structural)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ImportguardServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.results.pop(uri, None)
        ls.fixes.forget(uri)
        ls.queue.pop(uri, None)
        timer = ls.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        if not ls.pulls:
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(
        lsp.TEXT_DOCUMENT_DIAGNOSTIC,
        lsp.DiagnosticOptions(identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=False),
    )
    async def diagnostic(ls: ImportguardServer, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
        document = ls.workspace.get_text_document(params.text_document.uri)
        diagnostics: list[lsp.Diagnostic] = []
        if _is_python_file(document):
            result = None
            while result is None and document.uri in ls.workspace.text_documents:
                result = await ls.analysis(document)
                document = ls.workspace.get_text_document(params.text_document.uri)
            if result is None and document.uri not in ls.workspace.text_documents:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(ls.worker, ls.session.analyse, document.path, document.source)
            if result.error:
                raise RuntimeError(result.error)  # an error response, not a clean report
            diagnostics = [_diagnostic(f, document) for f in result.findings]
        result_id = _result_id(diagnostics)
        if params.previous_result_id == result_id:
            return lsp.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return lsp.RelatedFullDocumentDiagnosticReport(items=diagnostics, result_id=result_id)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    async def code_action(ls: ImportguardServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        only = params.context.only
        actions = code_actions(document, params.context.diagnostics, ls.fixes) if _wants(only, lsp.CodeActionKind.QuickFix) else []
        if _wants(only, FIX_ALL_KIND) and document.path.endswith("__init__.py"):
            result = await ls.analysis(document)
            fix_all = fix_all_action(document, result.findings, ls.fixes) if result is not None else None
            if fix_all is not None:
                actions.append(fix_all)
        return actions

    return server


def serve_after(session: Optional[Session], published: Optional[tuple[str, int, Analysis]],
                consumed: Sequence[bytes], answered: Any) -> None:
    """The server, after early.py's first answers: it reads again what that read
    (`consumed`), without answering `initialize` (id `answered`) twice or publishing
    the first file's diagnostics (`published`: uri, version, analysis) twice."""
    server = create_server(session)
    if published is not None:
        uri, version, result = published
        server.results[uri] = (version, result)
        server.published_early[uri] = version
    start_io(server, consumed, answered)
