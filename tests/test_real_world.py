"""A published package: quack-kernels 0.6.5's `__init__` re-exports cutedsl kernels."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from conftest import check_tree


@pytest.fixture(scope="module")
def quack_tree(tmp_path_factory):
    target = tmp_path_factory.mktemp("quack")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "quack-kernels==0.6.5", "-d", str(target)],
        capture_output=True, text=True, timeout=300,
    )
    wheels = list(target.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        pytest.skip(f"could not download quack-kernels==0.6.5 from the package index: {done.stderr.strip()[-300:]}")
    tree = target / "tree"
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(tree, [n for n in wheel.namelist() if n.endswith(".py")])
    return tree


@pytest.mark.network
def test_quack_init_is_flagged_with_a_chain_to_a_cuda_sink(quack_tree):
    report = check_tree(quack_tree, ["quack/__init__.py"])
    findings = [f for f in report.findings if f.code == "IG001"]
    assert findings, [f.message for f in report.findings]
    assert all(f.path == "quack/__init__.py" for f in findings)
    sinks = {f.sink for f in findings}
    assert sinks <= {"cutlass", "cuda.bindings.driver"} or any(s.startswith("cutlass") for s in sinks)
    first = findings[0]
    assert first.chain[0].importer == "quack"
    assert first.chain[-1].imported.split(".")[0] in ("cutlass", "cuda")
