"""Two packages of the same top-level name in one run are an error naming both
(issue 27): an import of `pkg.ops` could mean either, which gave a false positive in
one order and a false negative in the other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import write_tree

TWO_PKGS = {
    "p1/pkg/__init__.py": "from . import ops\n",
    "p1/pkg/ops.py": "import cutlass\n",
    "p3/pkg/__init__.py": "",
    "p3/pkg/user.py": "import pkg.ops\n",
}


def importguard(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "importguard", *args], cwd=root, capture_output=True, text=True,
                          timeout=120)


def test_two_packages_of_one_name_are_an_error_naming_both_paths(tmp_path):
    write_tree(tmp_path, TWO_PKGS)
    for order in (("p1", "p3"), ("p3", "p1")):
        done = importguard(tmp_path, "check", "--no-cache", *order)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip() == (
            f"importguard: error: two packages named `pkg` in one run: {tmp_path / 'p1' / 'pkg'} and "
            f"{tmp_path / 'p3' / 'pkg'}; an import of it could mean either, so check them in separate runs "
            "or exclude one"
        )


def test_each_package_alone_is_checked(tmp_path):
    write_tree(tmp_path, TWO_PKGS)
    assert importguard(tmp_path, "check", "--no-cache", "p1").returncode == 1
    assert importguard(tmp_path, "check", "--no-cache", "p3").returncode == 0


def test_plain_modules_of_one_name_in_two_folders_are_fine(tmp_path):
    write_tree(tmp_path, {"tests/conftest.py": "import os\n", "docs/conftest.py": "import os\n",
                          "pkg/__init__.py": "from . import ops\n", "pkg/ops.py": "import cutlass\n"})
    done = importguard(tmp_path, "check", "--no-cache", ".")
    assert done.returncode == 1 and "IG001" in done.stdout


def test_portions_of_one_namespace_package_under_two_source_roots_are_one_package(tmp_path):
    write_tree(tmp_path, {
        "pyproject.toml": "[tool.importguard]\nsrc = ['liba/src', 'libb/src']\n",
        "liba/src/company/a/__init__.py": "from . import ops\n",
        "liba/src/company/a/ops.py": "import cutlass\n",
        "libb/src/company/b/__init__.py": "from company.a import ops\n",
    })
    done = importguard(tmp_path, "check", "--no-cache", "--output-format", "full", ".")
    assert done.returncode == 1 and "company.b -> company.a" in done.stdout, done.stderr


def test_a_regular_package_and_a_namespace_portion_of_one_name_are_an_error(tmp_path):
    write_tree(tmp_path, {
        "pyproject.toml": "[tool.importguard]\nsrc = ['liba/src', 'libb/src']\n",
        "liba/src/company/__init__.py": "",
        "liba/src/company/a.py": "import cutlass\n",
        "libb/src/company/b/__init__.py": "from company import a\n",
    })
    done = importguard(tmp_path, "check", "--no-cache", ".")
    assert done.returncode == 2 and "two packages named `company` in one run" in done.stderr
