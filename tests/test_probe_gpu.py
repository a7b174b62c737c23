"""The runtime probe against a real CUDA driver and GPU (docs/probe-gpu-evidence.md).

Skipped, with the reason, where no driver can initialize (CI has no GPU). The expected
states are the ones measured in shared/cuda-evidence.md.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from importguard.probe.confirm import verdict_for
from importguard.probe.runner import probe_modules

PROBE = Path(__file__).resolve().parent.parent / "fixtures" / "probe"
SRC = (PROBE / "src",)  # no stubs/: the real cutlass, where it is installed
SLOW_IMPORT_TIMEOUT_S = 300.0  # `import cutlass` 4.5.2 took 7.3 s on an H100


def _driver_problem() -> str:
    """Why no CUDA driver can be used here ("" when one can), asked in a throwaway process."""
    snippet = (
        "import ctypes, sys\n"
        "try:\n    lib = ctypes.CDLL('libcuda.so.1')\n"
        "except OSError as e:\n    sys.exit('libcuda.so.1 cannot be loaded: %s' % e)\n"
        "code = lib.cuInit(0)\n"
        "sys.exit(code and 'cuInit(0) returned %d' % code)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, timeout=120, check=False
    )
    return "" if completed.returncode == 0 else (completed.stderr.strip() or f"exit {completed.returncode}")


_PROBLEM = _driver_problem()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(bool(_PROBLEM), reason=f"needs a CUDA driver and GPU: {_PROBLEM}"),
]
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
needs_cutlass = pytest.mark.skipif(
    importlib.util.find_spec("cutlass") is None, reason="nvidia-cutlass-dsl (cutlass) is not installed"
)


def _probe(*modules: str):
    return probe_modules(list(modules), sys_path=SRC, sink_modules=("cutlass",), timeout=SLOW_IMPORT_TIMEOUT_S)


@needs_cutlass
def test_reexported_cutlass_initializes_the_driver_and_breaks_forked_children():
    installed = importlib.metadata.version("nvidia-cutlass-dsl")
    if installed != "4.5.2":
        pytest.skip(f"measured with nvidia-cutlass-dsl 4.5.2; {installed} is installed")
    (result,) = _probe("reexport_pkg")
    assert result.status == "driver-initialized", result
    assert result.culprit.chain[:3] == ("reexport_pkg", "reexport_pkg.kernels", "cutlass")
    assert result.culprit.module.split(".")[0] == "cutlass"
    assert result.sinks_imported[0].chain == ("reexport_pkg", "reexport_pkg.kernels", "cutlass")
    assert (result.driver.fork_safe, result.driver.cuinit_in_forked_child) == (False, 3)
    verdict = verdict_for(result)  # what `check --confirm` attaches to the finding
    assert verdict["confirmed"] is True
    assert verdict["summary"].startswith("confirmed: importing `reexport_pkg` initialized the CUDA driver here")


@needs_torch
def test_torch_calls_at_import():
    capability, device_count, plain_torch = _probe("gpu_cases.capability", "gpu_cases.device_count", "torch")
    assert capability.status == "driver-initialized", capability
    assert capability.culprit.module == "gpu_cases.capability"
    assert capability.driver.cuinit_in_forked_child == 3
    for result in (device_count, plain_torch):
        assert result.status == "clean", result
        assert (result.driver.initialized, result.driver.fork_safe) == (False, True)


def test_clean_package_is_fork_safe():
    (result,) = _probe("clean_pkg")
    assert result.status == "clean"
    assert (result.driver.present, result.driver.fork_safe, result.driver.cuinit_in_forked_child) == (True, True, 0)


def test_blame_stays_with_the_module_that_called_cuinit():
    (result,) = _probe("gpu_cases.outer")
    assert result.status == "driver-initialized"
    assert result.culprit.chain == ("gpu_cases.outer", "gpu_cases.cuinit_then_import")
    assert result.driver.cuinit_in_forked_child == 3
