"""`python -m importguard check`, as the README shows it, never runs a module of the
project being checked (issue 27): Python puts the working directory first on
`sys.path`, and `__main__` drops it before anything else is imported."""

from __future__ import annotations

import subprocess
import sys

from conftest import write_tree

# Modules importguard imports after its `__main__` starts; each, if it ran from the
# project, would leave a file behind.
SHADOWS = ("typing", "json", "zlib", "pickle", "struct", "signal", "dataclasses", "tokenize", "click", "libcst")


def test_python_m_importguard_does_not_import_from_the_working_directory(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "from . import ops\n", "pkg/ops.py": "import cutlass\n"})
    for name in SHADOWS:
        (tmp_path / f"{name}.py").write_text(f"open({str(tmp_path / ('RAN-' + name))!r}, 'w').close()\n")
    for args in (("check", "."), ("check", "--no-cache", "--output-format", "json", ".")):
        done = subprocess.run([sys.executable, "-m", "importguard", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 1 and "IG001" in done.stdout, done.stderr
        assert sorted(p.name for p in tmp_path.glob("RAN-*")) == []


def test_importing_the_main_module_elsewhere_leaves_sys_path_alone(tmp_path):
    code = "import sys; before = list(sys.path); import importguard.__main__; print(sys.path == before, repr(sys.path[0]))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "''"], done.stderr  # `-c` put "" (the working directory) first
