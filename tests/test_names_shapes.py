"""Names resolved as Python binds them (issue 28, item 1): one small project per shape,
asserting the exact finding and its call hops, and a quiet twin per shape."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import check_tree, write_tree

IS_CUDA = "import torch\ndef is_cuda():\n    return torch.cuda.is_available()\n"


def report_of(tmp_path, files):
    return check_tree(write_tree(tmp_path, files))


def call_findings(tmp_path, files):
    """{(path, line): [(importer, imported, path, line) of each call hop]} of IG003."""
    return {
        (f.path, f.line): [(h.importer, h.imported, h.path, h.line) for h in f.chain if h.kind == "call"]
        for f in report_of(tmp_path, files).findings if f.code == "IG003"
    }


# ----------------------------------------------------------------------------- star imports


def test_star_import_without_all_binds_public_names(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/utils/__init__.py": "from pkg.utils.common import *\n",
        "pkg/utils/common.py": IS_CUDA,
        "pkg/layer.py": "from pkg.utils import is_cuda\n_is_cuda = is_cuda()\n",
    })
    assert found == {("pkg/layer.py", 2): [
        ("pkg.layer", "pkg.utils.is_cuda", "pkg/layer.py", 2),
        ("pkg.utils.common.is_cuda", "torch.cuda.is_available", "pkg/utils/common.py", 3),
    ]}


def test_star_import_with_all_that_excludes_the_name_binds_nothing(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/utils/__init__.py": "from pkg.utils.common import *\n",
        "pkg/utils/common.py": "__all__ = ['other']\n" + IS_CUDA + "def other():\n    pass\n",
        "pkg/layer.py": "from pkg.utils import is_cuda\n_is_cuda = is_cuda()\n",
    }) == {}


def test_star_import_without_all_skips_private_names(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/utils/__init__.py": "from pkg.utils.common import *\n",
        "pkg/utils/common.py": IS_CUDA.replace("is_cuda", "_is_cuda"),
        "pkg/layer.py": "from pkg.utils import _is_cuda\nX = _is_cuda()\n",
    }) == {}


def test_star_import_with_all_that_lists_the_name(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/utils/__init__.py": "from pkg.utils.common import *\n",
        "pkg/utils/common.py": "__all__ = ['is_cuda']\n" + IS_CUDA,
        "pkg/layer.py": "from pkg.utils import is_cuda\nX = is_cuda()\n",
    })
    assert list(found) == [("pkg/layer.py", 2)]


def test_chains_of_star_imports_with_a_cycle(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import *\n",
        "pkg/b.py": "from pkg.a import *\nfrom pkg.c import *\n",
        "pkg/c.py": IS_CUDA,
        "pkg/d.py": "from pkg.a import is_cuda, missing\nX = is_cuda()\nY = missing()\n",
    })
    assert found == {("pkg/d.py", 2): [
        ("pkg.d", "pkg.a.is_cuda", "pkg/d.py", 2),
        ("pkg.c.is_cuda", "torch.cuda.is_available", "pkg/c.py", 3),
    ]}


def test_a_name_the_module_itself_star_imports_is_called(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/common.py": IS_CUDA,
        "pkg/layer.py": "from pkg.common import *\nX = is_cuda()\nY = len([])\n",
        "pkg/quiet.py": "from pkg.common import *\nY = len([])\ndef f(g):\n    return g()\nZ = f(print)\n",
    })
    assert found == {("pkg/layer.py", 2): [
        ("pkg.layer", "pkg.layer.is_cuda", "pkg/layer.py", 2),
        ("pkg.common.is_cuda", "torch.cuda.is_available", "pkg/common.py", 3),
    ]}


def test_star_import_of_a_library_module(tmp_path):
    found = call_findings(tmp_path, {"m.py": "from torch.cuda import *\nX = is_available()\n"})
    assert found == {("m.py", 2): [("m", "torch.cuda.is_available", "m.py", 2)]}


# ----------------------------------------------------------------------------- module re-exports


TRITON_OPS = (
    "from pkg.triton_utils import triton\n"
    "def device():\n"
    "    return triton.runtime.driver.active.get_current_target().backend\n"
    "DEVICE = device()\n"
)


def test_module_object_re_exported_by_a_package(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/triton_utils.py": "HAS = True\nif HAS:\n    import triton\nelse:\n    triton = object()\n",
        "pkg/ops.py": TRITON_OPS,
    })
    assert found == {("pkg/ops.py", 4): [
        ("pkg.ops", "pkg.ops.device", "pkg/ops.py", 4),
        ("pkg.ops.device", "triton.runtime.driver.active.get_current_target", "pkg/ops.py", 3),
    ]}


def test_module_object_re_exported_through_a_star_import_with_all(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/triton_utils.py": "import triton\n__all__ = ['triton']\n",
        "pkg/ops.py": TRITON_OPS.replace("from pkg.triton_utils import triton", "from pkg.triton_utils import *"),
    })
    assert found == {("pkg/ops.py", 4): [
        ("pkg.ops", "pkg.ops.device", "pkg/ops.py", 4),
        ("pkg.ops.device", "triton.runtime.driver.active.get_current_target", "pkg/ops.py", 3),
    ]}


def test_a_placeholder_object_is_no_module(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/triton_utils.py": "class Placeholder:\n    pass\ntriton = Placeholder()\n",
        "pkg/ops.py": TRITON_OPS,
    }) == {}


# ----------------------------------------------------------------------------- aliases and wrappers


ALIASES = {
    "pkg/__init__.py": "",
    "pkg/common.py": (
        "import functools\nfrom functools import lru_cache, partial\nimport torch\n"
        "def _check(majors, version):\n"
        "    return torch.cuda.get_device_capability()[0] in majors\n"
        "def _quiet(majors):\n"
        "    return torch.cuda.device_count()\n"
        "is_sm90 = lru_cache(maxsize=1)(partial(_check, majors=[9], version=(12, 3)))\n"
        "is_sm100 = is_blackwell = lru_cache(maxsize=1)(\n    partial(_check, majors=[10], version=(12, 8))\n)\n"
        "plain = _check\n"
        "dotted = torch.cuda.current_device\n"
        "cached = functools.cache(_check)\n"
        "quiet = functools.partial(_quiet, 1)\n"
    ),
}


def test_aliases_partial_and_lru_cache_wrappers(tmp_path):
    found = call_findings(tmp_path, {**ALIASES, "pkg/use.py": (
        "from pkg.common import is_sm90, is_blackwell, plain, dotted, cached, quiet\n"
        "A = is_sm90()\nB = is_blackwell()\nC = plain([9], 1)\nD = dotted()\nE = cached([9], 1)\nF = quiet()\n"
    )})
    assert sorted(found) == [("pkg/use.py", line) for line in (2, 3, 4, 5, 6)]
    assert found[("pkg/use.py", 2)] == [
        ("pkg.use", "pkg.common.is_sm90", "pkg/use.py", 2),
        ("pkg.common._check", "torch.cuda.get_device_capability", "pkg/common.py", 5),
    ]
    assert found[("pkg/use.py", 5)] == [("pkg.use", "torch.cuda.current_device", "pkg/use.py", 5)]


def test_functions_behind_wraps_style_decorators_run_their_body(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/deco.py": (
            "import functools\n"
            "def logged(fn):\n"
            "    @functools.wraps(fn)\n"
            "    def wrapper(*args, **kwargs):\n"
            "        return fn(*args, **kwargs)\n"
            "    return wrapper\n"
        ),
        "pkg/ops.py": (
            "import functools\nimport torch\nfrom pkg.deco import logged\n"
            "@logged\ndef name():\n    return torch.cuda.get_device_name()\n"
            "@functools.cache\ndef quiet():\n    return torch.cuda.device_count()\n"
            "N = name()\nQ = quiet()\nW = functools.wraps(quiet)(name)\nV = W()\n"
        ),
    })
    assert sorted(found) == [("pkg/ops.py", 10), ("pkg/ops.py", 13)]
    assert found[("pkg/ops.py", 13)] == [
        ("pkg.ops", "pkg.ops.name", "pkg/ops.py", 13),  # W is bound to what it runs
        ("pkg.ops.name", "torch.cuda.get_device_name", "pkg/ops.py", 6),
    ]


# ----------------------------------------------------------------------------- instances and methods


PLATFORMS = {
    "pkg/__init__.py": "",
    "pkg/platforms/__init__.py": "from pkg.platforms.cuda import CudaPlatform\ncurrent_platform = CudaPlatform()\n",
    "pkg/platforms/interface.py": (
        "class Platform:\n"
        "    def is_arch_support_pdl(self):\n        return False\n"
        "    @classmethod\n    def has_capability(cls, cap):\n        return cls.get_device_capability() >= cap\n"
        "    @classmethod\n    def get_device_capability(cls):\n        return None\n"
    ),
    "pkg/platforms/cuda.py": (
        "import torch\nfrom pkg.platforms.interface import Platform\n"
        "class CudaPlatform(Platform):\n"
        "    @classmethod\n    def is_arch_support_pdl(cls):\n"
        "        device = torch.cuda.current_device()\n        return device >= 0\n"
        "    @classmethod\n    def get_device_capability(cls):\n        return torch.cuda.get_device_capability()\n"
        "    @staticmethod\n    def quiet():\n        return torch.cuda.device_count()\n"
    ),
}


def test_methods_of_a_module_level_instance_and_its_bases(tmp_path):
    found = call_findings(tmp_path, {**PLATFORMS, "pkg/kernel.py": (
        "from pkg.platforms import current_platform\n"
        "from pkg.platforms.cuda import CudaPlatform\n"
        "ENABLE_PDL = current_platform.is_arch_support_pdl()\n"
        "SM90 = current_platform.has_capability(90)\n"
        "CAP = CudaPlatform.get_device_capability()\n"
        "Q = current_platform.quiet()\n"
    )})
    assert sorted(found) == [("pkg/kernel.py", 3), ("pkg/kernel.py", 4), ("pkg/kernel.py", 5)]
    assert found[("pkg/kernel.py", 3)] == [
        ("pkg.kernel", "pkg.platforms.current_platform.is_arch_support_pdl", "pkg/kernel.py", 3),
        ("pkg.platforms.cuda.CudaPlatform.is_arch_support_pdl", "torch.cuda.current_device", "pkg/platforms/cuda.py", 6),
    ]


def test_an_instance_of_a_class_whose_method_is_quiet(tmp_path):
    files = dict(PLATFORMS)
    files["pkg/platforms/__init__.py"] = "from pkg.platforms.interface import Platform\ncurrent_platform = Platform()\n"
    assert call_findings(tmp_path, {**files, "pkg/kernel.py": (
        "from pkg.platforms import current_platform\nENABLE_PDL = current_platform.is_arch_support_pdl()\n"
    )}) == {}


# ----------------------------------------------------------------------------- NFKC


def test_identifiers_are_nfkc_normalised(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/common.py": IS_CUDA,
        "pkg/layer.py": ("import torch\nfrom pkg.common import \uff49\uff53_cuda\nX = is_cuda()\nY = \uff49\uff53_cuda()\n"
                         "Z = torch.cuda.\uff43urrent_device()\n"),
    })
    assert found == {
        **{("pkg/layer.py", line): [
            ("pkg.layer", "pkg.common.is_cuda", "pkg/layer.py", line),
            ("pkg.common.is_cuda", "torch.cuda.is_available", "pkg/common.py", 3),
        ] for line in (3, 4)},
        ("pkg/layer.py", 5): [("pkg.layer", "torch.cuda.current_device", "pkg/layer.py", 5)],
    }


# ----------------------------------------------------------------------------- control flow


def _one_finding(tmp_path, body):
    source = "import torch\nLEVEL = 0\n_cache = None\ndef f():\n" + body + "X = f()\n"
    return [(f.code, f.line, f.sink, "on some paths" in f.message) for f in report_of(tmp_path, {"m.py": source}).findings]


def test_a_call_right_of_and_is_followed_and_on_some_paths(tmp_path):
    assert _one_finding(tmp_path, "    return LEVEL and torch.cuda.get_device_capability()\n") == [
        ("IG003", 6, "torch.cuda.get_device_capability", True)]


def test_a_call_right_of_or_or_under_an_if_is_not_followed_by_default(tmp_path):
    assert _one_finding(tmp_path, "    return LEVEL or torch.cuda.get_device_capability()\n") == []
    assert _one_finding(tmp_path / "if", "    if LEVEL:\n        return LEVEL and torch.cuda.current_device()\n") == []


def test_the_first_call_runs_past_a_return_of_the_cached_global(tmp_path):
    body = ("    global _cache\n    if _cache is not None:\n        return _cache\n"
            "    _cache = torch.cuda.get_device_capability()\n    return _cache\n")
    assert _one_finding(tmp_path, body) == [("IG003", 10, "torch.cuda.get_device_capability", False)]


def test_a_return_on_another_test_still_makes_the_rest_conditional(tmp_path):
    body = ("    global _cache\n    if LEVEL == 0:\n        return None\n"
            "    _cache = torch.cuda.get_device_capability()\n    return _cache\n")
    assert _one_finding(tmp_path, body) == []
    unassigned = "    if _cache is not None:\n        return _cache\n    return torch.cuda.get_device_capability()\n"
    assert _one_finding(tmp_path / "plain", unassigned) == []


def test_cached_output_equals_no_cache_output(tmp_path):
    files = {**PLATFORMS, **ALIASES, "pkg/utils/__init__.py": "from pkg.utils.common import *\n",
             "pkg/utils/common.py": IS_CUDA, "pkg/triton_utils.py": "import triton\n", "pkg/ops.py": TRITON_OPS,
             "pkg/layer.py": "from pkg.utils import is_cuda\n_is_cuda = is_cuda()\n",
             "pkg/kernel.py": "from pkg.platforms import current_platform\nPDL = current_platform.is_arch_support_pdl()\n"}
    write_tree(tmp_path, files)
    command = [sys.executable, "-m", "importguard", "check", "pkg", "--output-format", "json", "--exit-zero"]
    runs = [subprocess.run(command + extra, cwd=tmp_path, capture_output=True, text=True, timeout=120)
            for extra in (["--no-cache"], [], [])]  # cold cache, then warm
    outputs = [run.stdout for run in runs]
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    assert len(json.loads(outputs[0])["findings"]) >= 3
    assert outputs[0] == outputs[1] == outputs[2]


def test_an_instance_made_by_a_factory_function_or_classmethod(tmp_path):
    files = dict(PLATFORMS)
    files["pkg/platforms/__init__.py"] = (
        "from pkg.platforms.cuda import CudaPlatform\n"
        "def _make():\n    return _build()\n"
        "def _build():\n    return CudaPlatform()\n"
        "current_platform = _make()\n"
        "created = CudaPlatform.create()\n"
    )
    files["pkg/platforms/cuda.py"] += "    @classmethod\n    def create(cls):\n        return cls()\n"
    found = call_findings(tmp_path, {**files, "pkg/kernel.py": (
        "from pkg.platforms import current_platform, created\n"
        "A = current_platform.is_arch_support_pdl()\nB = created.is_arch_support_pdl()\n"
    )})
    assert sorted(found) == [("pkg/kernel.py", 2), ("pkg/kernel.py", 3)]
    assert found[("pkg/kernel.py", 2)][-1] == (
        "pkg.platforms.cuda.CudaPlatform.is_arch_support_pdl", "torch.cuda.current_device", "pkg/platforms/cuda.py", 6)


def test_a_factory_whose_returns_differ_gives_no_class(tmp_path):
    files = dict(PLATFORMS)
    files["pkg/platforms/__init__.py"] = (
        "from pkg.platforms.cuda import CudaPlatform\nfrom pkg.platforms.interface import Platform\n"
        "import os\n"
        "def _make():\n    if os.environ.get('X'):\n        return Platform()\n    return CudaPlatform()\n"
        "def _maybe():\n    if os.environ.get('X'):\n        return CudaPlatform()\n"
        "current_platform = _make()\nmaybe = _maybe()\n"
    )
    assert call_findings(tmp_path, {**files, "pkg/kernel.py": (
        "from pkg.platforms import current_platform, maybe\n"
        "A = current_platform.is_arch_support_pdl()\nB = maybe.is_arch_support_pdl()\n"
    )}) == {}


def test_a_class_attribute_bound_to_a_function_is_called(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/common.py": IS_CUDA,
        "pkg/ops.py": (
            "import torch\nfrom pkg.common import is_cuda\n"
            "class Ops:\n    check = is_cuda\n    count = torch.cuda.device_count\n"
            "class Sub(Ops):\n    pass\n"
            "A = Ops.check()\nB = Sub.check()\nC = Ops.count()\n"
        ),
    })
    assert sorted(found) == [("pkg/ops.py", 8), ("pkg/ops.py", 9)]
    assert found[("pkg/ops.py", 9)] == [
        ("pkg.ops", "pkg.ops.Sub.check", "pkg/ops.py", 9),
        ("pkg.common.is_cuda", "torch.cuda.is_available", "pkg/common.py", 3),
    ]


def test_module_level_branches_of_an_expression_are_conditional(tmp_path):
    report = report_of(tmp_path, {"m.py": (
        "import torch\nOK = True\n"
        "A = 'cuda' if OK else torch.cuda.current_device()\n"
        "B = OK and torch.cuda.current_device()\n"
        "C = torch.cuda.current_device() or OK\n"
    )})
    assert [(f.line, "(conditionally)" in f.message) for f in report.findings] == [(3, False), (4, True), (5, False)]
    assert "runs at import (unless `OK`)" in report.findings[0].message  # the branch's test, named


def test_an_edit_of_a_star_source_reaches_the_cached_findings(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/utils/__init__.py": "from pkg.utils.common import *\n",
                          "pkg/utils/common.py": IS_CUDA,
                          "pkg/layer.py": "from pkg.utils import is_cuda\n_is_cuda = is_cuda()\n"})
    command = [sys.executable, "-m", "importguard", "check", "pkg", "--output-format", "json", "--exit-zero"]

    def run(*extra):
        done = subprocess.run(command + list(extra), cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert [f["line"] for f in json.loads(run())["findings"]] == [2]
    (tmp_path / "pkg/utils/common.py").write_text("__all__ = []\n" + IS_CUDA)
    cached = run()
    assert json.loads(cached)["findings"] == [] and cached == run("--no-cache")


def test_the_rest_after_if_not_x_return_is_followed_as_x_and_rest(tmp_path):
    body = "    if not LEVEL:\n        return False\n    return torch.cuda.get_device_capability()\n"
    assert _one_finding(tmp_path, body) == [("IG003", 8, "torch.cuda.get_device_capability", True)]
    for other in ("    if LEVEL == 0:\n        return False\n", "    if not LEVEL:\n        return False\n    else:\n        pass\n",
                  "    if LEVEL:\n        return False\n"):
        assert _one_finding(tmp_path / str(len(other)), other + "    return torch.cuda.get_device_capability()\n") == []


def test_a_name_bound_in_a_try_body_is_not_rebound_by_its_except_handler(tmp_path):
    quiet = "def is_cuda():\n    return False\n"
    modules = {"pkg/__init__.py": "", "pkg/fast.py": IS_CUDA, "pkg/slow.py": quiet}
    found = call_findings(tmp_path, {**modules, "pkg/use.py": (
        "try:\n    from pkg.fast import is_cuda\nexcept ImportError:\n    from pkg.slow import is_cuda\n"
        "try:\n    from pkg.fast import is_cuda as check\nexcept ImportError:\n    check = None\n"
        "X = is_cuda()\nY = check()\n"
    )})
    assert found == {("pkg/use.py", line): [
        ("pkg.use", "pkg.fast.is_cuda", "pkg/use.py", line),
        ("pkg.fast.is_cuda", "torch.cuda.is_available", "pkg/fast.py", 3),
    ] for line in (9, 10)}
    swapped = {**modules, "pkg/use.py": "try:\n    from pkg.slow import is_cuda\nexcept ImportError:\n"
                                         "    from pkg.fast import is_cuda\nX = is_cuda()\n"}
    assert call_findings(tmp_path / "swapped", swapped) == {}


LAZY_PLATFORM = {
    "pkg/__init__.py": "",
    "pkg/platforms/interface.py": "class Platform:\n    def is_arch_support_pdl(self):\n        return False\n",
    "pkg/platforms/cuda.py": (
        "import torch\nfrom pkg.platforms.interface import Platform\n"
        "class CudaPlatformBase(Platform):\n    def is_arch_support_pdl(self):\n"
        "        return torch.cuda.current_device() >= 0\n"
        "class NvmlCudaPlatform(CudaPlatformBase):\n    pass\n"
        "class NonNvmlCudaPlatform(CudaPlatformBase):\n    pass\n"
        "nvml_available = True\n"
        "CudaPlatform = NvmlCudaPlatform if nvml_available else NonNvmlCudaPlatform\n"
    ),
    "pkg/platforms/rocm.py": "from pkg.platforms.interface import Platform\nclass RocmPlatform(Platform):\n    pass\n",
    "pkg/other.py": "import torch\nclass Thing:\n    def is_arch_support_pdl(self):\n        return torch.cuda.current_device()\n",
    "pkg/platforms/__init__.py": (
        "from typing import TYPE_CHECKING\n"
        "from pkg.platforms.interface import Platform\n"
        "def cuda_platform_plugin():\n    ok = True\n    return 'pkg.platforms.cuda.CudaPlatform' if ok else None\n"
        "def rocm_platform_plugin():\n    return 'pkg.platforms.rocm.RocmPlatform'\n"
        "def not_a_platform():\n    return 'pkg.other.Thing'\n"
        "def resolve_obj_by_qualname(qualname):\n    return None\n"
        "_current_platform = None\n"
        "if TYPE_CHECKING:\n    current_platform: Platform\n"
        "def __getattr__(name):\n"
        "    if name == 'current_platform':\n"
        "        global _current_platform\n"
        "        _current_platform = resolve_obj_by_qualname(cuda_platform_plugin())()\n"
        "        return _current_platform\n"
        "    raise AttributeError(name)\n"
    ),
    "pkg/kernel.py": "from pkg.platforms import current_platform\nENABLE_PDL = current_platform.is_arch_support_pdl()\n",
}


def test_a_platform_object_served_by_a_module_getattr_is_one_of_its_named_subclasses(tmp_path):
    report = report_of(tmp_path, LAZY_PLATFORM)
    (finding,) = [f for f in report.findings if f.code == "IG003"]
    assert (finding.path, finding.line, finding.sink) == ("pkg/kernel.py", 2, "torch.cuda.current_device")
    assert [(h.importer, h.imported, h.path, h.line) for h in finding.chain] == [
        ("pkg.kernel", "pkg.platforms.current_platform.is_arch_support_pdl", "pkg/kernel.py", 2),
        ("pkg.platforms.cuda.CudaPlatformBase.is_arch_support_pdl", "torch.cuda.current_device", "pkg/platforms/cuda.py", 5),
    ]
    assert "on some paths" in finding.message
    assert finding.chain[-1].via == "when the object is a pkg.platforms.cuda.NvmlCudaPlatform"


def test_a_named_class_that_is_no_platform_or_a_module_without_getattr_gives_nothing(tmp_path):
    files = dict(LAZY_PLATFORM)
    files["pkg/platforms/__init__.py"] = files["pkg/platforms/__init__.py"].replace(
        "'pkg.platforms.cuda.CudaPlatform' if ok else None", "None")
    assert call_findings(tmp_path, files) == {}
    files = dict(LAZY_PLATFORM)
    files["pkg/platforms/__init__.py"] = files["pkg/platforms/__init__.py"].replace("def __getattr__", "def _getattr")
    assert call_findings(tmp_path / "plain", files) == {}
