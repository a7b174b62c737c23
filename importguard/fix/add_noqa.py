"""`check --add-noqa`: write `# noqa: IGxxx` on every reported line, through LibCST.

The comment goes on the last line of the statement that holds the site (a
suppression counts on any line of a multi-line import), or on the header line of an
`if`/`while`/`for`/`with` whose test holds it, or on a decorator's line. An existing
`# noqa: codes` gets the new codes merged in; a bare `# noqa` already covers
everything; any other comment keeps its text and gets `  # noqa: ...` after it.
Running it twice changes nothing: what is suppressed is no longer reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from importguard.atomic_write import write_atomically
from importguard.facts.comments import NOQA as _NOQA
from importguard.inside_project import links_outside, refusal
from importguard.model import Finding

_HEADED = (cst.If, cst.While, cst.For, cst.With)


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
    finding lines that found no place."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    slots = _Slots()
    wrapper.visit(slots)
    wanted: dict[cst.CSTNode, set[str]] = {}
    missed = []
    for finding in findings:
        last = max(finding.line, finding.end_line)
        node = slots.find(finding.line, last)
        if node is None:
            missed.append(finding.line)
        else:
            wanted.setdefault(node, set()).add(finding.code)
    writer = _Writer(wanted)
    return wrapper.module.visit(writer), writer.count, sorted(set(missed))


class _Slots(cst.CSTVisitor):
    """Every node that owns a trailing comment: (first line, comment line, node)."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        self.slots: list[tuple[int, int, cst.CSTNode]] = []

    def _span(self, node: cst.CSTNode) -> tuple[int, int]:
        position = self.get_metadata(PositionProvider, node)
        return position.start.line, position.end.line

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.slots.append((*self._span(node), node))

    def visit_Decorator(self, node: cst.Decorator) -> None:
        self.slots.append((*self._span(node), node))

    def _headed(self, node: Union[cst.If, cst.While, cst.For, cst.With]) -> None:
        if not isinstance(node.body, cst.IndentedBlock):
            return  # `if x: y` on one line: its SimpleStatementSuite is the slot
        start, _ = self._span(node)
        header = node.items[-1] if isinstance(node, cst.With) else node.iter if isinstance(node, cst.For) else node.test
        _, end = self._span(header)
        self.slots.append((start, end, node.body))

    visit_If = _headed
    visit_While = _headed
    visit_For = _headed
    visit_With = _headed

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self.slots.append((*self._span(node), node))  # `if x: y`: the comment ends its line

    def find(self, line: int, last: int) -> Optional[cst.CSTNode]:
        """The innermost slot whose statement holds `line` and whose comment line is
        one a suppression on this site counts on."""
        fits = [(end - start, start, node) for start, end, node in self.slots if start <= line and line <= end <= last]
        return min(fits, key=lambda fit: (fit[0], -fit[1]))[2] if fits else None


class _Writer(cst.CSTTransformer):
    def __init__(self, wanted: dict[cst.CSTNode, set[str]]) -> None:
        self.wanted = wanted
        self.count = 0

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:
        codes = self.wanted.get(original)
        if not codes:
            return updated
        attribute = "header" if isinstance(updated, cst.IndentedBlock) else "trailing_whitespace"
        trailing: cst.TrailingWhitespace = getattr(updated, attribute)
        comment, written = _with_codes(trailing.comment.value if trailing.comment else None, codes)
        if not written:
            return updated
        self.count += written
        whitespace = trailing.whitespace if trailing.comment else cst.SimpleWhitespace("  ")
        return updated.with_changes(**{attribute: trailing.with_changes(whitespace=whitespace, comment=cst.Comment(comment))})


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
