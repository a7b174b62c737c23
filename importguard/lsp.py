"""`importguard lsp`: a language server over stdio (pygls; `pip install 'importguard[lsp]'`).

Diagnostics for each open Python file on open, change and save. The open file is
analysed from its editor buffer (saved or not), the rest of the graph from disk.
Each diagnostic carries the chain in its message and one related location per hop.
Code actions: add a `# noqa: CODE` comment, and make an `__init__.py` re-export lazy.
"""

from __future__ import annotations

import os
import tokenize
from io import BytesIO
from pathlib import Path
from typing import Any, Optional, Sequence

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

from importguard import __version__
from importguard.facts.collect import collect_file, collect_source
from importguard.facts.comments import comments as source_comments
from importguard.config import load_config
from importguard.engine import run_check
from importguard.errors import ImportguardError
from importguard.fix.lazy_reexport import fix_text, is_fixable
from importguard.output.chain import hop_text
from importguard.model import Finding, ModuleFacts, SourceFile

SOURCE = "importguard"


class DiskFacts:
    """Facts of files on disk, kept while their size and mtime stay the same; the file
    being edited comes from its buffer instead."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[tuple[int, int], ModuleFacts]] = {}

    def collector(self, overlay_path: str, overlay_text: str):  # -> engine Collector
        def collect(sources: Sequence[SourceFile]) -> list[ModuleFacts]:
            return [
                collect_source(_encode(overlay_text), s) if _same(s.path, overlay_path) else self._disk(s)
                for s in sources
            ]

        return collect

    def _disk(self, source: SourceFile) -> ModuleFacts:
        try:
            stat = os.stat(source.path)
            key = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            return collect_file(source)
        memo = self._memo.get(source.path)
        if memo is not None and memo[0] == key:
            return memo[1]
        facts = collect_file(source)
        self._memo[source.path] = (key, facts)
        return facts


def _encode(text: str) -> bytes:
    """The buffer as the bytes it will be saved as: its `# coding:` cookie, else UTF-8."""
    data = text.encode("utf-8")
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
        return text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeEncodeError):
        return data


def _same(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


class ImportguardServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("importguard", __version__)
        self.disk = DiskFacts()

    def analyse(self, document: TextDocument) -> list[Finding]:
        path = document.path
        config = load_config(None, Path(path))
        report = run_check([Path(path)], config, collector=self.disk.collector(path, document.source))
        return [f for f in report.findings if _same(f.path, path)]

    def refresh(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        if not _is_python_file(document):
            return
        try:
            findings = self.analyse(document)
        except ImportguardError as error:
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Warning, f"importguard: {error}"))
            findings = []
        except Exception as error:  # never let one file take the server down
            self.window_log_message(
                lsp.LogMessageParams(lsp.MessageType.Error, f"importguard: internal error: {type(error).__name__}: {error}")
            )
            return
        diagnostics = [_diagnostic(f, document) for f in findings]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=document.version)
        )


def _is_python_file(document: TextDocument) -> bool:
    return document.uri.startswith("file:") and bool(document.path) and document.path.endswith(".py")


def _diagnostic(finding: Finding, document: TextDocument) -> lsp.Diagnostic:
    lines = document.lines
    start_line = finding.line - 1
    end_line = max(finding.end_line, finding.line) - 1
    end_text = lines[end_line] if end_line < len(lines) else ""
    related = [
        lsp.DiagnosticRelatedInformation(
            location=lsp.Location(
                uri=from_fs_path(str(Path(hop.path).absolute())) or "",
                range=lsp.Range(lsp.Position(hop.line - 1, 0), lsp.Position(hop.line, 0)),
            ),
            message=hop_text(hop),
        )
        for hop in finding.chain
    ]
    data = {
        "code": finding.code,
        "line": finding.line,
        "column": finding.column,
        "end_line": max(finding.end_line, finding.line),
        "package": finding.chain[0].importer if finding.chain else "",
        "fixable": is_fixable(finding),
    }
    return lsp.Diagnostic(
        range=lsp.Range(
            lsp.Position(start_line, finding.column - 1),
            lsp.Position(end_line, len(end_text.rstrip("\r\n"))),
        ),
        message=finding.message,
        severity=lsp.DiagnosticSeverity.Warning,
        code=finding.code,
        source=SOURCE,
        related_information=related or None,
        data=data,
    )


# ----------------------------------------------------------------------------- code actions


def noqa_edit(document: TextDocument, code: str, first: int, last: int) -> Optional[lsp.TextEdit]:
    """Append `# noqa: CODE` to the first line of the site that can take a comment (not
    one that ends in a backslash), or add CODE to the noqa comment already there."""
    lines = document.lines
    comments = source_comments(document.source)
    for number in range(first, last + 1):
        index = number - 1
        if index >= len(lines):
            return None
        text = lines[index].rstrip("\r\n")
        if text.rstrip().endswith("\\"):
            continue
        comment = comments.get(number)
        if comment is not None:
            column, body = comment
            lowered = body.lower()
            at = lowered.find("noqa:")
            if at >= 0:
                end = column + len(body)
                return lsp.TextEdit(lsp.Range(lsp.Position(index, end), lsp.Position(index, end)), f", {code}")
            if "noqa" in lowered:
                return None  # a bare noqa comment already silences every code
        end = len(text)
        return lsp.TextEdit(lsp.Range(lsp.Position(index, end), lsp.Position(index, end)), f"  # noqa: {code}")
    return None


def code_actions(document: TextDocument, diagnostics: Sequence[lsp.Diagnostic]) -> list[lsp.CodeAction]:
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
        if data.get("fixable"):
            new_text, _notes = fix_text(document.source, [(int(data["line"]), int(data["column"]))], str(data["package"]))
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


def create_server() -> ImportguardServer:
    server = ImportguardServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ImportguardServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ImportguardServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ImportguardServer, params: lsp.DidSaveTextDocumentParams) -> None:
        # A saved leaf module can change the findings of every open file that reaches it.
        for uri in sorted(ls.workspace.text_documents):
            ls.refresh(uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ImportguardServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
    )
    def code_action(ls: ImportguardServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        return code_actions(document, params.context.diagnostics)

    return server


def serve() -> None:
    create_server().start_io()
