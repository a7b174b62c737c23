"""`check --fix` / `--diff`: eager re-exports become PEP 562 lazy ones, proven at run
time: after the fix, importing the package no longer imports the (stub) sink, while
`from pkg import name`, `pkg.name` and `dir(pkg)` still work."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst
import pytest
from conftest import write_tree

from importguard.fix.lazy_reexport import fix_file, fix_text

INIT = '''\
"""Kernels, re-exported."""

from __future__ import annotations

import os  # stays eager

# The cutedsl kernels.
from .gemm import gemm, GemmConfig as Config
from .util import helper

__all__ = ["gemm", "Config", "helper"]

SEP = os.sep  # module code that runs at import
'''

PROJECT = {
    "pyproject.toml": "[tool.importguard]\nexclude = ['stubs']\n",
    "stubs/cutlass/__init__.py": "",
    "pkg/__init__.py": INIT,
    "pkg/gemm.py": "import cutlass\n\n\ndef gemm(x):\n    return x * 2\n\n\nclass GemmConfig:\n    pass\n",
    "pkg/util.py": "def helper():\n    return 'help'\n",
}


def importguard(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "importguard", "check", *args],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def python(root: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "stubs")])}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )


RUNTIME = """
    import sys
    import pkg
    assert "cutlass" not in sys.modules, "importing pkg imported the sink"
    assert {"gemm", "Config", "helper"} <= set(dir(pkg)), dir(pkg)
    assert pkg.SEP and pkg.helper() == "help"
    assert "cutlass" not in sys.modules
    from pkg import gemm
    assert gemm(21) == 42 and "cutlass" in sys.modules
    assert pkg.gemm is gemm, "the function, not the submodule of the same name"
    assert pkg.Config.__name__ == "GemmConfig"
    try:
        pkg.missing
    except AttributeError as error:
        assert "has no attribute 'missing'" in str(error)
    else:
        raise AssertionError("pkg.missing did not raise")
    print("ok")
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(tmp_path, PROJECT)


def test_fix_makes_the_re_export_lazy_at_run_time(root: Path):
    before = python(root, "import sys, pkg; print('cutlass' in sys.modules)")
    assert before.stdout.strip() == "True"  # the stub sink is really imported eagerly
    assert importguard(root, "pkg").returncode == 1

    fixed = importguard(root, "--fix", "pkg")
    assert "Fixed 1 site in 1 file." in fixed.stderr
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr  # `check` no longer reports it
    result = python(root, RUNTIME)
    assert result.stdout.strip() == "ok", result.stderr

    text = (root / "pkg" / "__init__.py").read_text()
    libcst.parse_module(text)
    assert "if TYPE_CHECKING:\n    # The cutedsl kernels.\n    from .gemm import gemm, GemmConfig as Config\n" in text
    assert '__all__ = ["gemm", "Config", "helper"]' in text
    # Every other line is still there, in order, byte for byte.
    kept = [line for line in INIT.splitlines() if "from .gemm" not in line and "cutedsl" not in line]
    lines = iter(text.splitlines())
    assert all(any(line == other for other in lines) for line in kept)


def test_fix_is_idempotent_and_diff_writes_nothing(root: Path):
    init = root / "pkg" / "__init__.py"
    diff = importguard(root, "--diff", "pkg")
    assert diff.returncode == 1
    assert diff.stdout.startswith("--- a/pkg/__init__.py\n+++ b/pkg/__init__.py\n")
    assert "-from .gemm import gemm, GemmConfig as Config\n" in diff.stdout
    assert "+def __getattr__(name: str):\n" in diff.stdout
    assert init.read_text() == INIT

    assert importguard(root, "--fix", "pkg").returncode == 0
    once = init.read_bytes()
    again = importguard(root, "--fix", "pkg")
    assert again.returncode == 0 and "Fixed" not in again.stderr
    assert init.read_bytes() == once
    assert importguard(root, "--diff", "pkg").stdout == ""


def test_a_new_eager_re_export_is_merged_into_the_generated_getattr(root: Path):
    importguard(root, "--fix", "pkg")
    write_tree(root, {"pkg/attn.py": "import cutlass\n\n\ndef attention():\n    return 'attn'\n"})
    init = root / "pkg" / "__init__.py"
    init.write_text(init.read_text() + "from .attn import attention\n")
    assert importguard(root, "--fix", "pkg").returncode == 0
    text = init.read_text()
    assert text.count("def __getattr__") == 1 and 'elif name == "attention":' in text
    result = python(root, RUNTIME.replace('print("ok")', 'assert pkg.attention() == "attn"; print("ok")'))
    assert result.stdout.strip() == "ok", result.stderr


def test_an_own_getattr_is_left_alone_with_a_reason(root: Path):
    own = INIT + "\n\ndef __getattr__(name):\n    raise AttributeError(name)\n"
    write_tree(root, {"pkg/__init__.py": own})
    result = importguard(root, "--fix", "pkg")
    assert result.returncode == 1
    assert "already defines its own `__getattr__`/`__dir__`" in result.stderr
    assert "from .gemm import gemm as value" in result.stderr  # what to add by hand
    assert (root / "pkg" / "__init__.py").read_text() == own


def test_a_name_used_by_module_code_stays_eager(root: Path):
    used = INIT + "DEFAULT = Config()\n"
    write_tree(root, {"pkg/__init__.py": used})
    result = importguard(root, "--fix", "pkg")
    assert "`Config` is also used in this file" in result.stderr
    assert (root / "pkg" / "__init__.py").read_text() == used


def test_module_level_from_pkg_import_name_is_named_in_the_fix_hint(root: Path):
    write_tree(root, {"pkg/api.py": "from pkg import gemm\n"})
    report = importguard(root, "--format", "full", "pkg")
    assert "a lazy re-export cannot help while `pkg.api` does `from pkg import gemm` at module level" in report.stdout
    fixed = importguard(root, "--fix", "pkg")
    assert "note: pkg/__init__.py:8: a lazy re-export cannot help" in fixed.stderr


def test_files_with_syntax_errors_are_never_touched(tmp_path: Path):
    broken = b"from .gemm import gemm\nfrom .util import (helper\n"
    path = tmp_path / "__init__.py"
    path.write_bytes(broken)
    result = fix_file(str(path), [(1, 1)], "pkg")
    assert not result.changed and result.after == broken
    assert "does not parse" in result.notes[0]


def test_only_top_level_import_statements_are_rewritten():
    source = "try:\n    from .gemm import gemm\nexcept ImportError:\n    gemm = None\n"
    new, notes = fix_text(source, [(2, 5)], "pkg")
    assert new is None
    assert notes == ("2: only top-level import statements are rewritten (this one is inside a block, "
                     "or not an import); move it into the function that uses it by hand",)


def test_a_submodule_import_becomes_a_lazy_attribute(tmp_path: Path):
    write_tree(tmp_path, {
        "stubs/cutlass/__init__.py": "",
        "pkg/__init__.py": "import pkg.kernels.gemm\nfrom . import util\n",
        "pkg/kernels/__init__.py": "",
        "pkg/kernels/gemm.py": "import cutlass\nVALUE = 7\n",
        "pkg/util.py": "import cutlass\n",
    })
    fixed = importguard(tmp_path, "--fix", "pkg")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    result = python(tmp_path, """
        import sys, pkg
        assert "cutlass" not in sys.modules
        assert pkg.kernels.gemm.VALUE == 7 and pkg.util.__name__ == "pkg.util"
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


STAR_NAMES = """
    import sys
    namespace = {}
    exec("from pkg import *", namespace)
    print(sorted(name for name in namespace if not name.startswith("_")))
"""
NO_ALL = {
    "stubs/cutlass/__init__.py": "",
    "pkg/__init__.py": (
        "import os\n"
        "from .gemm import gemm, GemmConfig as Config\n"
        "from .util import helper\n"
        "try:\n    from ._native import fast\nexcept ImportError:\n    fast = None\n"
        "if os.name == 'nt':\n    SEP = '\\\\'\nelse:\n    SEP = '/'\n"
        "_private = 1\n"
    ),
    "pkg/gemm.py": "import cutlass\n\n\ndef gemm(x):\n    return x * 2\n\n\nclass GemmConfig:\n    pass\n",
    "pkg/util.py": "def helper():\n    return 'help'\n",
}


def test_fix_of_a_package_without_all_keeps_what_a_star_import_binds(tmp_path: Path):
    write_tree(tmp_path, NO_ALL)
    before = python(tmp_path, STAR_NAMES)
    assert "'gemm'" in before.stdout and "'util'" in before.stdout, before.stderr
    fixed = importguard(tmp_path, "--fix", "pkg")
    assert "Fixed 1 site in 1 file." in fixed.stderr and fixed.returncode == 0, fixed.stderr
    assert python(tmp_path, "import sys, pkg; print('cutlass' in sys.modules)").stdout.strip() == "False"
    after = python(tmp_path, STAR_NAMES)
    assert after.stdout == before.stdout, after.stderr
    text = (tmp_path / "pkg" / "__init__.py").read_text()
    assert ("# What `from pkg import *` bound before --fix made names lazy.\n"
            '__all__ = ["Config", "SEP", "fast", "gemm", "helper", "os", "util"]\n') in text
    again = importguard(tmp_path, "--fix", "pkg")  # idempotent: nothing left to fix, nothing rewritten
    assert again.returncode == 0 and (tmp_path / "pkg" / "__init__.py").read_text() == text


@pytest.mark.parametrize("body, reason", [
    ("from .extra import *\n", "the module has a star import of its own"),
    ("if FLAG:\n    EXTRA = 1\n", "`EXTRA` is bound on some paths only"),
    ("globals()['EXTRA'] = 1\n", "the module calls `globals()`"),
    ("del helper\n", "the module deletes names with `del`"),
])
def test_fix_leaves_a_package_alone_when_its_star_import_cannot_be_known(body, reason):
    source = f"FLAG = True\nfrom .gemm import gemm\nfrom .util import helper\n{body}"
    new, notes = fix_text(source, [(2, 1)], "pkg")
    assert new is None
    assert notes[-1].startswith("2: not rewritten: without `__all__`, `from pkg import *` binds every public global, "
                                f"and {reason}")
    assert notes[-1].endswith("; add an `__all__` and run --fix again")


def test_a_package_with_all_gets_no_second_one():
    new, _ = fix_text("from .gemm import gemm\n__all__ = ['gemm']\n", [(1, 1)], "pkg")
    assert new is not None and new.count("__all__") == 1
