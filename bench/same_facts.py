#!/usr/bin/env python3
"""Check, over any tree, that collecting with function bodies reduced to their imports
(importguard/facts/skeleton.py) gives exactly the facts of parsing whole files.

    python bench/same_facts.py bench/.trees/sglang bench/.trees/flashinfer

Prints the number of files compared, how many were reduced, and every file whose facts
differ (exit 1 if any). Also the time of both ways, one process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from importguard.facts.collect import collect_source
from importguard.facts.skeleton import import_time_skeleton
from importguard.model import SourceFile


def main(folders: list[str]) -> int:
    compared = reduced = 0
    differing: list[str] = []
    time_reduced = time_whole = 0.0
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.py")):
            data = path.read_bytes()
            source = SourceFile(str(path), path.stem, path.name == "__init__.py", folder)
            start = time.perf_counter()
            fast = collect_source(data, source)
            middle = time.perf_counter()
            slow = collect_source(data, source, reduce_bodies=False)
            time_reduced += middle - start
            time_whole += time.perf_counter() - middle
            compared += 1
            try:
                reduced += import_time_skeleton(data.decode("utf-8")) is not None
            except UnicodeDecodeError:
                pass
            if fast != slow:
                differing.append(str(path))
    print(f"{compared} files compared, {reduced} with reduced function bodies")
    print(f"collect, one process: whole files {time_whole:.1f} s, reduced {time_reduced:.1f} s")
    for path in differing:
        print(f"DIFFERENT FACTS: {path}")
    print("facts identical" if not differing else f"{len(differing)} files differ")
    return 1 if differing else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python bench/same_facts.py DIR [DIR ...]")
    sys.exit(main(sys.argv[1:]))
