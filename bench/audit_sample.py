#!/usr/bin/env python3
"""Print a random sample of findings with the source line of every hop, for an audit.

    importguard check PKG --output-format json > report.json
    python bench/audit_sample.py report.json --root TREE --count 10 --seed 1

Each finding is printed with its message, then one line per hop of its chain: the hop,
then the line of source it names (read from `--root`, where the report's paths are
relative to). A reader judges each finding real or not by reading these lines and, where
a hop is a call, the called function's body (its file and line are printed too).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def source_line(root: Path, path: str, line: int) -> str:
    try:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        return f"<cannot read: {error.strerror}>"
    return lines[line - 1].strip() if 0 < line <= len(lines) else "<no such line>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--root", type=Path, default=Path("."), help="where the report's relative paths start")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--codes", default="IG001,IG002,IG003", help="comma-separated codes to sample from")
    args = parser.parse_args()
    findings = [f for f in json.loads(args.report.read_text())["findings"] if f["code"] in args.codes.split(",")]
    sample = random.Random(args.seed).sample(findings, min(args.count, len(findings)))
    print(f"{len(sample)} of {len(findings)} findings ({args.codes}), seed {args.seed}\n")
    for number, finding in enumerate(sample, 1):
        print(f"[{number}] {finding['path']}:{finding['line']}: {finding['code']} ({finding.get('strength', '')})")
        print(f"    {finding['message']}")
        print(f"    site: {source_line(args.root, finding['path'], finding['line'])}")
        for hop in finding["chain"]:
            via = f" ({hop['via']})" if hop.get("via") else ""
            print(f"    {hop['kind']:6} {hop['importer']} -> {hop['imported']}{via}")
            print(f"           {hop['path']}:{hop['line']}: {source_line(args.root, hop['path'], hop['line'])}")
        print()


if __name__ == "__main__":
    main()
