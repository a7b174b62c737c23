"""Apply a fix plan mechanically to a copy of a tree, and count what is left.

    python bench/apply_plan.py TREE_COPY PACKAGE

runs `importguard check --output-format json PACKAGE` in TREE_COPY, then for every
planned edit wraps the statement holding the site in a function (`def
_importguard_deferred_N():`), so the import or call no longer runs at import time,
and checks again. It prints the counts before and after. It writes into TREE_COPY:
never point it at a tree you want to keep.
"""

from __future__ import annotations

import ast
import collections
import json
import subprocess
import sys
from pathlib import Path


def check(tree: Path, package: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "importguard", "check", "--no-cache", "--output-format", "json",
                           package], cwd=tree, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return json.loads(done.stdout)


def statement_lines(source: str, line: int) -> tuple[int, int]:
    """First and last line of the innermost statement that holds `line`."""
    best = None
    for node in ast.walk(ast.parse(source)):
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) if isinstance(node, ast.stmt) else 0
        if isinstance(node, ast.stmt) and start <= line <= (node.end_lineno or node.lineno):
            body_start = min((child.lineno for field in ("body", "orelse", "finalbody", "handlers")
                              for child in getattr(node, field, []) or []), default=None)
            if body_start is not None and line >= body_start:
                continue  # the line is in the body, a smaller statement holds it
            span = (start, node.end_lineno or node.lineno)
            if best is None or span[1] - span[0] <= best[1] - best[0]:
                best = span
    if best is None:
        raise ValueError(f"no statement holds line {line}")
    return best


def wrap(path: Path, lines: list[int]) -> None:
    """Wrap each statement holding one of `lines` in a function of its own."""
    text = path.read_text(encoding="utf-8")
    spans = sorted({statement_lines(text, line) for line in lines}, reverse=True)
    rows = text.splitlines(keepends=True)
    for number, (first, last) in enumerate(spans):
        block = rows[first - 1:last]
        indent = block[0][: len(block[0]) - len(block[0].lstrip())]
        wrapped = [f"{indent}def _importguard_deferred_{number}():\n"] + [f"    {row}" if row.strip() else row for row in block]
        rows[first - 1:last] = wrapped
    path.write_text("".join(rows), encoding="utf-8")


def counts(report: dict) -> collections.Counter:
    return collections.Counter(f["code"] for f in report["findings"])


def main(tree: Path, package: str) -> int:
    before = check(tree, package)
    plan = before["plan"]
    print(f"before: {len(before['findings'])} findings {dict(sorted(counts(before).items()))}, "
          f"{len(before['root_causes'])} root causes")
    if plan is None:
        print("no plan")
        return 0
    print(f"plan: {len(plan['edits'])} edits, clear {plan['cleared']}, exact={plan['exact']}")
    by_file = collections.defaultdict(list)
    for edit in plan["edits"]:
        print(f"  {edit['path']}:{edit['line']} {edit['kind']} {edit['what']} ({edit['findings']})")
        by_file[edit["path"]].append(edit["line"])
    for path, lines in sorted(by_file.items()):
        wrap(tree / path, lines)
    after = check(tree, package)
    print(f"after: {len(after['findings'])} findings {dict(sorted(counts(after).items()))}")
    left = [f for f in after["findings"] if f["code"] in ("IG001", "IG002", "IG003")]
    for finding in left[:20]:
        print(f"  left: {finding['path']}:{finding['line']} {finding['code']} {finding['message'][:160]}")
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), sys.argv[2]))
