from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Optional, Sequence, Union

import pytest

from importguard.config import load_config
from importguard.engine import Report, run_check

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def alive(pid: int) -> bool:
    """The process exists and is no zombie (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def write_tree(root: Path, files: dict[str, Union[str, bytes]]) -> Path:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            path.write_bytes(source)
        else:
            path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root


def check_tree(root: Path, paths: Optional[Sequence[str]] = None, **kwargs) -> Report:
    """Run the engine from `root` as working directory, like `importguard check` there."""
    old = Path.cwd()
    os.chdir(root)
    try:
        config = load_config(None, root)
        targets = [Path(p) for p in paths] if paths else [Path(".")]
        return run_check(targets, config, **kwargs)
    finally:
        os.chdir(old)


@pytest.fixture
def project(tmp_path: Path):
    """project({"pkg/__init__.py": "...", ...}) -> root of the written tree."""

    def make(files: dict[str, str]) -> Path:
        return write_tree(tmp_path, files)

    return make


@pytest.fixture(scope="session")
def fake_libcuda(tmp_path_factory) -> Path:
    """A libcuda.so.1 that answers the probe's driver calls like an uninitialized driver
    until cuInit (fixtures/probe/fake_libcuda.c), for probe tests on machines without a GPU."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the fake libcuda.so.1")
    folder = tmp_path_factory.mktemp("fake_libcuda")
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o", str(folder / "libcuda.so.1"),
         str(FIXTURES / "probe" / "fake_libcuda.c")],
        check=True,
    )
    return folder
