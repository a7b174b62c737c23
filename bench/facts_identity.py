#!/usr/bin/env python3
"""Check that two versions of the collector give byte-identical facts, and time them.

    python bench/facts_identity.py --baseline /tmp/base_checkout PKG_DIR [PKG_DIR ...]

`--baseline` is a checkout of another importguard (e.g. `git archive main | tar -x -C
DIR`). Each version collects every `*.py` under each package directory (module names
relative to the directory's parent, as `importguard check` names them) in a fresh
process of its own, one after the other, and writes `json.dumps(dataclasses.asdict(facts),
sort_keys=True)` per file (the same in every version); then the two are compared file by file. Prints, per
version, the CPU time of collecting (`time.process_time` inside that process, reading
included, writing not, the cyclic GC off as in `importguard check`), the count of
files compared and every file whose facts differ (exit 1 if any).

    python bench/facts_identity.py --dump OUT PKG_DIR ...   # one version only
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _sources(folders: list[str]):
    from importguard.model import SourceFile

    for folder in folders:
        package = Path(folder).resolve()
        root = package.parent
        for path in sorted(package.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            yield SourceFile(str(path), ".".join(parts), is_package, str(root))


def dump(out: str, folders: list[str]) -> None:
    from importguard.facts.collect import collect_source

    # As `importguard check` collects: cache/loader.py turns the cyclic GC off for the
    # run, and the forked workers inherit that.
    gc.disable()
    cpu = 0.0
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for source in _sources(folders):
            start = time.process_time()
            data = Path(source.path).read_bytes()
            collected = collect_source(data, source)
            cpu += time.process_time() - start
            facts = dataclasses.asdict(collected)
            count += 1
            handle.write(json.dumps([source.path, json.dumps(facts, sort_keys=True)]) + "\n")
    print(f"{count} files collected, CPU {cpu:.2f} s (importguard from {_origin()})", file=sys.stderr)


def _origin() -> str:
    import importguard

    return str(Path(importguard.__file__).parent.parent)


def _load(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as handle:
        return dict(json.loads(line) for line in handle)


def compare(baseline: str, folders: list[str]) -> int:
    here = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        outputs = []
        for name, source_root in (("baseline", baseline), ("current", here)):
            out = os.path.join(tmp, f"{name}.jsonl")
            env = dict(os.environ, PYTHONPATH=os.path.abspath(source_root))
            print(f"{name}: ", end="", flush=True, file=sys.stderr)
            subprocess.run([sys.executable, os.path.abspath(__file__), "--dump", out, *folders],
                           env=env, check=True, cwd=tmp)
            outputs.append(_load(out))
    old, new = outputs
    differing = sorted(path for path in old.keys() | new.keys() if old.get(path) != new.get(path))
    print(f"{len(old.keys() | new.keys())} files compared, {len(differing)} differ")
    for path in differing:
        print(f"DIFFERENT FACTS: {path}")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="root of the other importguard checkout")
    parser.add_argument("--dump", help="collect with the importguard on sys.path into this file")
    parser.add_argument("folders", nargs="+")
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.folders)
        return 0
    if not args.baseline:
        parser.error("--baseline or --dump is needed")
    return compare(args.baseline, args.folders)


if __name__ == "__main__":
    sys.exit(main())
