"""The probe names the line in the probed package that led to the first driver call, and
the library's own lines after it (issue 28, item 4): child.py wraps the known call
sinks as their modules are imported and keeps the stack of the call during which the
driver became initialized. Runs on the fake libcuda (no GPU needed)."""

from __future__ import annotations

import json

import pytest

from conftest import write_tree
from importguard.probe.report import format_json, format_text
from importguard.probe.runner import probe_modules

# A stand-in for torch: `is_available()` calls cuInit, as the real one does on a GPU,
# and cpp_extension calls it at import when looking for the CUDA toolkit.
FAKE_TORCH = {
    "torch/__init__.py": (
        "import torch.cuda\n\n\ndef compile(fn):\n"
        "    import torch._inductor.compile_fx\n    return fn\n"  # as torch.compile imports inductor
    ),
    "torch/_inductor/__init__.py": "",
    "torch/_inductor/compile_fx.py": "import torch\nAVAILABLE = torch.cuda.is_available()\n",
    "torch/cuda/__init__.py": (
        "import ctypes\n\n\ndef is_available():\n"
        "    return ctypes.CDLL('libcuda.so.1').cuInit(0) == 0\n\n\n"
        "def device_count():\n    return 1\n"
    ),
    "torch/utils/__init__.py": "",
    "torch/utils/cpp_extension.py": (
        "import torch\n\n\ndef _find_cuda_home():\n    return torch.cuda.is_available()\n\n\n"
        "CUDA_HOME = _find_cuda_home()\n"
    ),
    "pkg/__init__.py": "from pkg.kernels import cuda_ops\n",
    "pkg/kernels/__init__.py": "",
    "pkg/kernels/cuda_ops.py": '"""CUDA ops."""\nimport torch.utils.cpp_extension\n',
    "quiet/__init__.py": "import torch\nN = torch.cuda.device_count()\n",
    "direct/__init__.py": "import ctypes\nctypes.CDLL('libcuda.so.1').cuInit(0)\n",
    "compiled/__init__.py": "import torch\n\n\n@torch.compile\ndef f(x):\n    return x\n",
}


@pytest.fixture
def probed(tmp_path, fake_libcuda, monkeypatch):
    monkeypatch.setenv("LD_LIBRARY_PATH", str(fake_libcuda))
    root = write_tree(tmp_path, FAKE_TORCH)
    monkeypatch.chdir(root)
    return {r.module: r for r in probe_modules(["pkg", "quiet", "direct", "compiled"], sys_path=[root])}


def test_the_first_driver_call_and_its_stack_are_recorded(probed):
    found = probed["pkg"].driver_call
    assert found is not None and found.call == "torch.cuda.is_available"
    where = [(path.rsplit("/", 1)[-1], line, function, module) for path, line, function, module in found.frames]
    assert where[-4:] == [
        ("__init__.py", 1, "<module>", "pkg"),
        ("cuda_ops.py", 2, "<module>", "pkg.kernels.cuda_ops"),
        ("cpp_extension.py", 8, "<module>", "torch.utils.cpp_extension"),
        ("cpp_extension.py", 5, "_find_cuda_home", "torch.utils.cpp_extension"),
    ]


def test_the_text_names_the_project_lines_then_the_library_lines(probed):
    text = format_text([probed["pkg"]])
    assert ("first driver call: `torch.cuda.is_available()`, made at torch/utils/cpp_extension.py:5 "
            "(torch.utils.cpp_extension, in _find_cuda_home())") in text
    assert "in `pkg`: pkg/__init__.py:1 (pkg) -> pkg/kernels/cuda_ops.py:2 (pkg.kernels.cuda_ops)" in text
    assert ("then outside it: torch/utils/cpp_extension.py:8 (torch.utils.cpp_extension) -> "
            "torch/utils/cpp_extension.py:5 (torch.utils.cpp_extension, in _find_cuda_home())") in text
    data = json.loads(format_json([probed["pkg"]]))["results"][0]["driver_call"]
    assert data["call"] == "torch.cuda.is_available" and data["frames"][-1]["line"] == 5


def test_no_driver_call_without_initialization_or_through_an_unwrapped_call(probed):
    # a wrapped call that initializes nothing, and a driver initialized by no known call sink
    assert probed["quiet"].status == "clean" and probed["quiet"].driver_call is None
    assert probed["direct"].status == "driver-initialized" and probed["direct"].driver_call is None
    assert "first driver call" not in format_text([probed["direct"]])


def test_the_fix_names_the_statement_when_the_library_imported_the_culprit(probed):
    # The chain `compiled -> torch._inductor.compile_fx` is an import torch.compile makes at
    # run time; the package has no such import to move: the fix names the decorator.
    text = format_text([probed["compiled"]])
    assert ("fix: in `compiled`, the statement at compiled/__init__.py:4 (`@torch.compile`) leads to "
            "the driver call at import") in text
    assert "import `torch._inductor.compile_fx` inside" not in text
    # an import statement on the stack keeps the import fix
    assert "fix: in `pkg.kernels.cuda_ops`, import `torch.utils.cpp_extension` inside" in format_text([probed["pkg"]])
