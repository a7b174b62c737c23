"""The default (concise) line of each rule: the problem first, the sink it reaches and a
short strength tag, one line; the reason, the chain and the fix stay in `full`."""

from __future__ import annotations

from conftest import write_tree
from test_cli import run

TREE = {
    "pyproject.toml": ('[tool.importguard]\ncuda-free = ["app.*"]\nextend-sink-modules = ["mylib"]\n'
                       'environment = { versions = { nvidia-cutlass-dsl = "4.5.2" } }\n'),
    "pkg/__init__.py": "from .ops import gemm\ntry:\n    from . import drv\nexcept ImportError:\n    pass\n",
    "pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n",
    "pkg/drv.py": "import cuda.bindings.driver\n",
    "app/__init__.py": "",
    "app/serve.py": "import pkg.ops\nimport mylib\n",
    "app/cfg.py": "import torch\n\ndef probe():\n    return torch.cuda.is_available()\n\nOK = probe()\nNAME = torch.cuda.get_device_name()\n",
    "app/broken.py": "def f(:\n",
}

CONCISE = [
    "app/broken.py:1:7: IG900 syntax error: invalid syntax",
    "app/cfg.py:6:6: IG003 `app.cfg.probe()` runs at import and reaches `torch.cuda.is_available()` [initializer]",
    "app/cfg.py:7:8: IG003 `torch.cuda.get_device_name()` runs at import [initializer]",
    "app/serve.py:1:1: IG002 eager import in `cuda-free` module reaches `cutlass` [initializer]",
    "app/serve.py:2:1: IG002 eager import in `cuda-free` module reaches `mylib` [configured sink]",
    "pkg/__init__.py:1:1: IG001 eager import in package `__init__` reaches `cutlass` [initializer]",
    "pkg/__init__.py:3:5: IG001 eager import in package `__init__` (conditionally) reaches `cuda.bindings.driver` [driver API, no call]",
]


def test_each_rule_has_a_short_line_and_full_keeps_the_chain_and_fix(tmp_path):
    write_tree(tmp_path, TREE)
    lines = run("check", "--no-cache", cwd=tmp_path).stdout.splitlines()
    assert [line.split(";")[0] if ": IG900 " in line else line for line in lines] == CONCISE
    assert all(len(line) <= 160 for line in lines)
    full = run("check", "--no-cache", "--output-format", "full", cwd=tmp_path).stdout
    assert ("app/serve.py:1:1: IG002 eager import in `cuda-free` module reaches `cutlass`, which initializes "
            "the CUDA driver at import in nvidia-cutlass-dsl 4.5.2") in full
    assert "    pkg.ops -> cutlass (pkg/ops.py:1)" in full
    assert "    fix: import it inside the function that uses it" in full
    assert "(conditionally, but eager when it runs)" in full
    # The same short line for the old name of the format.
    assert run("check", "--no-cache", "--output-format", "text", cwd=tmp_path).stdout.splitlines() == lines


def test_every_strength_has_a_short_tag():
    from importguard.model import STRENGTH_WORDS
    from importguard.output.text import CONCISE_STRENGTH

    assert set(CONCISE_STRENGTH) == set(STRENGTH_WORDS)
