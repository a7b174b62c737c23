"""`check --add-noqa`: write `# noqa: IGxxx` on every reported line.

The comment goes on the first line of the site (a suppression counts on any line of
it) that can end in a comment, as the editor's "Add `# noqa`" action does. An existing
`# noqa: codes` gets the new codes merged in; a bare `# noqa` already covers
everything; any other comment keeps its text and gets `  # noqa: ...` after it. The
result is parsed again (LibCST) before it is written. Running it twice changes
nothing: what is suppressed is no longer reported.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import libcst as cst

from importguard.files.atomic_write import write_atomically
from importguard.facts.comments import NOQA as _NOQA
from importguard.files.inside_project import links_outside, refusal
from importguard.model import Finding

@dataclass
class Added:
    directives: int = 0  # codes written
    files_changed: int = 0
    notes: list[str] = field(default_factory=list)


def add_noqa(findings: Iterable[Finding], project_root: Optional[str] = None) -> Added:
    """Add the comments; with `project_root`, a file that is (or lies under) a link to a
    place outside it is left alone with a note, as `--fix` does."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    added = Added()
    for path in sorted(by_path):
        outside = links_outside(path, project_root) if project_root is not None else None
        if outside is not None:
            added.notes.append(f"note: {refusal(path, outside, project_root, 'no `# noqa` added')}")
            continue
        try:
            before = Path(path).read_bytes()
            module = cst.parse_module(before)
        except (OSError, cst.ParserSyntaxError, UnicodeDecodeError) as error:
            added.notes.append(f"note: {path}: no `# noqa` added: {str(error).splitlines()[0]}")
            continue
        after, count, missed = add_to_module(module, by_path[path])
        added.notes += [f"note: {path}:{line}: no line of this statement can carry a `# noqa` comment; not added"
                        for line in missed]
        if count and after.bytes != before:
            try:
                # A link out of the project was refused above; one inside is written at its target.
                write_atomically(path, after.bytes, keep_mode=True, follow_links=True)
            except OSError as error:
                added.notes.append(f"note: {path}: not rewritten, cannot write it: {error.strerror or error}")
                continue
            added.directives += count
            added.files_changed += 1
    noun = "directive" if added.directives == 1 else "directives"
    files = "file" if added.files_changed == 1 else "files"
    added.notes.append(f"Added {added.directives} noqa {noun} in {added.files_changed} {files}.")
    return added


def add_to_module(module: cst.Module, findings: Iterable[Finding]) -> tuple[cst.Module, int, list[int]]:
    """The module with the comments added, how many codes were written, and the
    finding lines that found no place. Each finding's comment goes on the first line of
    its site (line..end_line, where a suppression counts) that can end in a comment:
    where Python's tokenizer ends a line (NEWLINE or NL), so not a line continued by a
    backslash or inside a string. That is the line the editor's "Add `# noqa`" action
    picks (lsp.noqa_edit): both write the comment where `check` reads it."""
    text = module.code
    lines = text.splitlines(keepends=True)
    open_lines, comments = _comment_slots(text)
    wanted: dict[int, set[str]] = {}
    missed = []
    for finding in findings:
        last = max(finding.line, finding.end_line)
        line = next((n for n in range(finding.line, last + 1) if n in open_lines), None)
        if line is None or line > len(lines):
            missed.append(finding.line)
        else:
            wanted.setdefault(line, set()).add(finding.code)
    count = 0
    for line, codes in wanted.items():
        source = lines[line - 1]
        body = source.rstrip("\r\n")
        ending = source[len(body):]
        column = comments.get(line)
        comment, written = _with_codes(body[column:] if column is not None else None, codes)
        if written:
            code_part = body[:column] if column is not None else body.rstrip(" \t") + "  "
            lines[line - 1] = code_part + comment + ending
            count += written
    if not count:
        return module, 0, sorted(set(missed))
    try:
        edited = cst.parse_module("".join(lines).encode(module.encoding))
    except (cst.ParserSyntaxError, UnicodeEncodeError):  # never expected: then write nothing
        return module, 0, sorted({*missed, *wanted})
    return edited, count, sorted(set(missed))


def noqa_line(text: str, first: int, last: int) -> Optional[int]:
    """The line of `text` that a `# noqa` for a site on lines first..last goes on (the
    first that can end in a comment), or None: the one choice for --add-noqa and the
    editor's action."""
    open_lines, _ = _comment_slots(text)
    return next((n for n in range(first, max(first, last) + 1) if n in open_lines), None)


def _comment_slots(text: str) -> tuple[set[int], dict[int, int]]:
    """The lines a comment may end (the tokenizer ends them with NEWLINE or NL) and
    the column of each comment already there."""
    open_lines: set[int] = set()
    comments: dict[int, int] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL):
                open_lines.add(token.start[0])
            elif token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.start[1]
    except (tokenize.TokenError, SyntaxError):
        pass  # lines seen before the error keep their slots
    return open_lines, comments


def _with_codes(comment: Optional[str], codes: set[str]) -> tuple[str, int]:
    """The comment with `codes` in its noqa, and how many codes were new."""
    if comment is None:
        return f"# noqa: {', '.join(sorted(codes))}", len(codes)
    match = _NOQA.search(comment)
    if match is None:
        return f"{comment}  # noqa: {', '.join(sorted(codes))}", len(codes)
    if not match.group("codes"):
        return comment, 0  # a bare `# noqa` covers every code already
    have = {c.strip().upper() for c in match.group("codes").split(",")}
    new = codes - have
    if not new:
        return comment, 0
    merged = f"# noqa: {', '.join(sorted(have | new))}"
    return comment[: match.start()] + merged + comment[match.end():], len(new)
