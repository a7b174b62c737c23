#!/usr/bin/env python3
"""A scripted series of edits on a copy of a real tree: after each, the cached check
(facts cache, stored findings; replay records removed first) must print exactly what
`--no-cache` prints (issue 13).

    python bench/edit_series.py sglang          # a tree bench/run.py prepared
    python bench/edit_series.py vllm --keep     # leave the copy for a look

The copy goes to a temporary directory; the tree under bench/.trees is not touched.
Prints one line per edit (PASS/FAIL, seconds cached vs --no-cache) and exits 1 on any
difference.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import TREES, TREES_DIR  # noqa: E402

PYTHON = sys.executable
# Set by a module that an ancestor package imports, it turns `torch.cuda.is_available()`
# at import below that package into no sink (graph/reach.py).
NVML = '\nimport os\nos.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"\n'


def check(root: Path, package: str, *args: str) -> tuple[bytes, bytes, int, float]:
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "importguard", "check", package, *args], cwd=root,
                          capture_output=True, timeout=1800)
    return done.stdout, done.stderr, done.returncode, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", choices=sorted(TREES))
    parser.add_argument("--keep", action="store_true", help="keep the copy")
    args = parser.parse_args()
    tree = TREES[args.tree]
    source = TREES_DIR / args.tree
    if not (source / ".prepared").exists():
        sys.exit(f"run `python bench/run.py --trees {args.tree}` first: it prepares {source}")
    work = Path(tempfile.mkdtemp(prefix=f"importguard-edits-{args.tree}-"))
    root = work / "tree"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".importguard_cache", "_work-*"))
    cache = work / "cache"
    leaf = root / tree.edit
    package_dir = leaf.parent
    renamed = sorted(p for p in package_dir.glob("*.py") if p.name != "__init__.py" and p != leaf)[0]
    init = package_dir / "__init__.py"
    package = ".".join(leaf.parent.relative_to(root).parts)
    from_package = f"\nfrom {package} import {leaf.stem}\n"  # the lazy re-export hint reads these

    def append(path: Path, text: str):
        return lambda: path.write_text(path.read_text() + text)

    def remove(path: Path, text: str):
        return lambda: path.write_text(path.read_text().replace(text, "", 1))

    series = [
        ("add a sink import to a re-exported leaf", append(leaf, "\nimport cutlass\n")),
        ("remove it", remove(leaf, "\nimport cutlass\n")),
        ("the leaf sets the NVML check", append(leaf, NVML)),
        ("and no longer", remove(leaf, NVML)),
        (f"{renamed.name} imports the leaf's name from its package", append(renamed, from_package)),
        ("and no longer", remove(renamed, from_package)),
        ("add a new file nobody imports", lambda: (package_dir / "bench_new.py").write_text("import cutlass\n")),
        ("the package __init__ imports it", append(init, "\nfrom . import bench_new\n")),
        ("delete the new file", lambda: (package_dir / "bench_new.py").unlink()),
        ("and its import", remove(init, "\nfrom . import bench_new\n")),
        (f"rename {renamed.name}", lambda: renamed.rename(renamed.with_name("bench_renamed.py"))),
        ("rename it back", lambda: renamed.with_name("bench_renamed.py").rename(renamed)),
        ("nothing changed", lambda: None),
    ]
    first = check(root, tree.package, "--cache-dir", str(cache))
    print(f"{args.tree}: {tree.edit}; first cached run {first[3]:.1f} s", flush=True)
    failures = 0
    for name, edit in series:
        edit()
        for record in cache.glob("replay-*.json"):
            record.unlink()
        cached = check(root, tree.package, "--cache-dir", str(cache))
        fresh = check(root, tree.package, "--no-cache")
        same = cached[:3] == fresh[:3]
        failures += not same
        findings = cached[0].count(b": IG")
        print(f"  {'PASS' if same else 'FAIL'}  {name:45} findings {findings:4}  cached {cached[3]:6.2f} s,"
              f" --no-cache {fresh[3]:6.2f} s", flush=True)
        if not same:
            print((cached[0] + cached[1]).decode()[-2000:], "\n---\n", (fresh[0] + fresh[1]).decode()[-2000:])
    if args.keep:
        print(f"copy kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
