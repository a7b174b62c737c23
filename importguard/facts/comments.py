"""Comments as Python's tokenizer sees them, and the suppressions they hold.

Read with the tokenizer, so a `#` inside a string is no comment, and on the lines
Python counts (universal newlines: `\n`, `\r\n`, `\r`; a form feed or U+2028 inside a
line ends nothing, as `str.splitlines` would have it). One implementation for the
collector and the language server.
"""

from __future__ import annotations

import io
import re
import tokenize

from importguard.model import Suppression

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:\s*,\s*[A-Za-z]+[0-9]+)*))?", re.I)
_IGNORE = re.compile(r"#\s*importguard:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.I)
_MARKER = re.compile(r"noqa|importguard\s*:", re.I)  # without one, no line can suppress


def comments(text: str) -> dict[int, tuple[int, str]]:
    """line -> (0-based column, text) of the comment on it. A file the tokenizer gives
    up on keeps the comments found before that point."""
    found: dict[int, tuple[int, str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = (token.start[1], token.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def suppressions(text: str) -> tuple[Suppression, ...]:
    """`# noqa`, `# noqa: IG001,IG002`, `# importguard: ignore[IG001]` comments; empty
    codes mean every code."""
    if not _MARKER.search(text):  # most files: no tokenizer pass at all
        return ()
    found = []
    for line, (_, comment) in sorted(comments(text).items()):
        for pattern in (_NOQA, _IGNORE):
            match = pattern.search(comment)
            if match:
                codes = match.group("codes") or ""
                found.append(Suppression(line, tuple(sorted(c.strip().upper() for c in codes.split(",") if c.strip()))))
                break
    return tuple(found)
