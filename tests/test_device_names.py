"""A CUDA device given through a module-level name (`DEVICE = "cuda"`, `_DEV =
torch.device("cuda:0")`) is a CUDA device, at module level and in functions called at
import; a name bound to something else, or bound again, is not."""

from __future__ import annotations

import pytest

from conftest import check_tree, write_tree


def sinks(tmp_path, source: str):
    report = check_tree(write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": "import torch\n" + source}))
    return [(f.line, f.sink) for f in report.findings if f.code == "IG003"]


@pytest.mark.parametrize("source, found", [
    ('DEVICE = "cuda"\nX = torch.ones(3, device=DEVICE)\n', [(3, "torch.ones")]),
    ('_DEV = torch.device("cuda:0")\nX = torch.zeros(2, device=_DEV)\n', [(3, "torch.zeros")]),
    ('DEVICE: str = "cuda"\nX = torch.ones(1).to(DEVICE)\n', [(3, "torch.Tensor.to")]),
    ('DEVICE = "cuda"\ndef f():\n    return torch.empty(1, device=DEVICE)\nX = f()\n', [(5, "torch.empty")]),
])
def test_a_module_level_cuda_device_name_is_a_cuda_device(tmp_path, source, found):
    assert sinks(tmp_path, source) == found


@pytest.mark.parametrize("source", [
    'DEVICE = "cpu"\nX = torch.ones(3, device=DEVICE)\n',
    'DEVICE = "cuda"\nDEVICE = "cpu"\nX = torch.ones(3, device=DEVICE)\n',
    'DEVICE = "cuda"\ndef f(DEVICE="cpu"):\n    pass\nX = torch.ones(3, device=OTHER)\n',
])
def test_other_names_are_not(tmp_path, source):
    assert sinks(tmp_path, source) == []
