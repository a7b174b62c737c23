"""The strongest sink labels a finding (issue 28, item 4): a chain that reaches both the
driver API imported without a call and a measured initializer is labelled by the
initializer, even when the driver API is nearer or sorts first by name."""

from __future__ import annotations

from importguard.model import DRIVER_API, INITIALIZER, VERSION_DEPENDENT

from conftest import check_tree, write_tree

CONFIG = '[tool.importguard]\ncuda-free = ["app.main"]\n'


def strengths(tmp_path, files):
    root = write_tree(tmp_path, {"pyproject.toml": CONFIG, **files})  # `files` may bring its own
    report = check_tree(root)
    return [(f.path, f.line, f.strength, f.sink) for f in report.findings if f.path == "app/main.py"]


def test_deeper_initializer_beats_nearer_driver_api(tmp_path):
    found = strengths(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": "import app.ops\n",
        # the driver API one hop from app.ops, an initializing call two hops away
        "app/ops.py": "import cuda.bindings.driver\nimport app.deep\n",
        "app/deep.py": "import app.deeper\n",
        "app/deeper.py": "import torch\nX = torch.cuda.is_available()\n",
    })
    assert [(line, strength) for _, line, strength, _ in found] == [(1, INITIALIZER)]
    assert found[0][3] == "app.deeper"


def test_equal_length_initializer_beats_driver_api_name_order(tmp_path):
    # `cuda.bindings.driver` sorts before `cutlass`; both are one hop from app.ops.
    files = {
        "app/__init__.py": "",
        "app/main.py": "import app.ops\n",
        "app/ops.py": "import cuda.bindings.driver\nimport cutlass\n",
    }
    # The installed cutlass unknown, it is an initializer in some versions: still above the driver API.
    assert [(strength, sink) for _, _, strength, sink in strengths(tmp_path / "unknown", files)] == [
        (VERSION_DEPENDENT, "cutlass")]
    pinned = {"pyproject.toml": CONFIG + 'environment = { versions = { nvidia-cutlass-dsl = "4.5.2" } }\n', **files}
    assert [(strength, sink) for _, _, strength, sink in strengths(tmp_path / "pinned", pinned)] == [
        (INITIALIZER, "cutlass")]


def test_driver_api_alone_keeps_its_label(tmp_path):
    found = strengths(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": "import app.ops\n",
        "app/ops.py": "import cuda.bindings.driver\nimport app.plain\n",
        "app/plain.py": "import os\n",
    })
    assert [(strength, sink) for _, _, strength, sink in found] == [(DRIVER_API, "cuda.bindings.driver")]


def test_a_path_that_goes_on_to_a_call_the_nvml_check_does_not_quiet_names_that_call(tmp_path):
    # quack's shape: a helper calls torch.cuda.is_available(), then a function that calls
    # get_device_capability(), which initializes even with PYTORCH_NVML_BASED_CUDA_CHECK=1.
    report = check_tree(write_tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/caps.py": "import torch\n\ndef major():\n    return torch.cuda.get_device_capability()[0]\n",
        "pkg/m.py": ("import torch\nfrom pkg.caps import major\n\ndef config():\n"
                     "    if torch.cuda.is_available():\n        pass\n    return major()\n\nCFG = config()\n"),
    }))
    (finding,) = [f for f in report.findings if f.code == "IG003"]
    assert finding.sink == "torch.cuda.get_device_capability"
