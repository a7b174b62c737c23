"""Imports that a function run at import time executes (issue 28, item 2): a call at
import reaches what the function's `import` statements import, through the import
graph. One small project per shape, asserting the exact finding and its chain, and a
quiet twin per shape (not called, TYPE_CHECKING, a nested def not called, a platform
branch decided away)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import check_tree, write_tree

from importguard.plan.causes import root_causes

CUTLASS_BACKEND = "def get_backend():\n    import cutlass\n    return cutlass\n"
LAYER = "from pkg.util import get_backend\n\nBACKEND = get_backend()\n"


def report_of(tmp_path, files, **kwargs):
    return check_tree(write_tree(tmp_path, {"pkg/__init__.py": "", **files}), **kwargs)


def call_findings(tmp_path, files, **kwargs):
    """{(path, line): [(kind, importer, imported, path, line) of each hop]} of IG003."""
    return {
        (f.path, f.line): [(h.kind, h.importer, h.imported, h.path, h.line) for h in f.chain]
        for f in report_of(tmp_path, files, **kwargs).findings if f.code == "IG003"
    }


# ------------------------------------------------------------------ the import of a sink module


def test_a_called_function_that_imports_a_sink_module(tmp_path):
    report = report_of(tmp_path, {"pkg/util.py": CUTLASS_BACKEND, "pkg/layer.py": LAYER})
    (finding,) = [f for f in report.findings if f.code == "IG003"]
    assert (finding.path, finding.line, finding.sink) == ("pkg/layer.py", 3, "cutlass")
    assert [(h.kind, h.importer, h.imported, h.path, h.line) for h in finding.chain] == [
        ("call", "pkg.layer", "pkg.util.get_backend", "pkg/layer.py", 3),
        ("import", "pkg.util.get_backend", "cutlass", "pkg/util.py", 2),
    ]
    # Problem, chain, fix: the message names the sink as a module, not as a call.
    assert "`pkg.util.get_backend()` runs at import and reaches `cutlass`, which " in finding.message
    assert "pkg.util.get_backend() -> import cutlass" in finding.message
    assert finding.message.endswith("call it inside a function, after the fork "
                                    "(e.g. cache the result with functools.cache)")


def test_not_called_at_import_is_quiet(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/util.py": CUTLASS_BACKEND,
        "pkg/layer.py": "from pkg.util import get_backend\n\ndef backend():\n    return get_backend()\n",
    }) == {}


def test_under_type_checking_is_quiet(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/util.py": "from typing import TYPE_CHECKING\n\ndef get_backend():\n"
                       "    if TYPE_CHECKING:\n        import cutlass\n    return None\n",
        "pkg/layer.py": LAYER,
    }) == {}


def test_an_import_in_a_nested_def_not_called_is_quiet(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/util.py": "def get_backend():\n    def later():\n        import cutlass\n    return later\n",
        "pkg/layer.py": LAYER,
    }) == {}


def test_a_nested_def_that_is_called_counts(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/util.py": "def get_backend():\n    def load():\n        import cutlass\n    return load()\n",
        "pkg/layer.py": LAYER,
    }) == {("pkg/layer.py", 3): [
        ("call", "pkg.layer", "pkg.util.get_backend", "pkg/layer.py", 3),
        ("call", "pkg.util.get_backend", "pkg.util.get_backend.load", "pkg/util.py", 4),
        ("import", "pkg.util.get_backend.load", "cutlass", "pkg/util.py", 3),
    ]}


# --------------------------------------------------- a project module whose import reaches a sink


KERNELS = {
    "pkg/kernels/__init__.py": "",
    "pkg/kernels/ops.py": "from pkg.kernels import cuda_ops\n",
    "pkg/kernels/cuda_ops.py": "import torch\n\nHAS_CUDA = torch.cuda.is_available()\n",
}


def test_a_function_that_imports_a_module_whose_import_calls_cuda(tmp_path):
    found = call_findings(tmp_path, {
        **KERNELS,
        "pkg/util.py": "def get_backend():\n    import pkg.kernels.ops\n    return pkg.kernels.ops\n",
        "pkg/layer.py": LAYER,
    })
    assert found[("pkg/layer.py", 3)] == [
        ("call", "pkg.layer", "pkg.util.get_backend", "pkg/layer.py", 3),
        ("import", "pkg.util.get_backend", "pkg.kernels.ops", "pkg/util.py", 2),
        ("import", "pkg.kernels.ops", "pkg.kernels.cuda_ops", "pkg/kernels/ops.py", 1),
        ("call", "pkg.kernels.cuda_ops", "torch.cuda.is_available", "pkg/kernels/cuda_ops.py", 3),
    ]


def test_a_from_import_of_a_library_submodule_that_is_a_sink(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/util.py": "def driver():\n    from cuda.bindings import driver\n    return driver\n",
        "pkg/layer.py": "from pkg.util import driver\n\nDRIVER = driver()\n",
    })
    assert found == {("pkg/layer.py", 3): [
        ("call", "pkg.layer", "pkg.util.driver", "pkg/layer.py", 3),
        ("import", "pkg.util.driver", "cuda.bindings.driver", "pkg/util.py", 2),
    ]}


def test_a_module_reaching_no_sink_is_quiet(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/kernels/__init__.py": "",
        "pkg/kernels/ops.py": "import torch\n\nN = torch.cuda.device_count()\n",
        "pkg/util.py": "def get_backend():\n    import pkg.kernels.ops\n",
        "pkg/layer.py": LAYER,
    }) == {}


# ------------------------------------------------------ a local from-import, then a call of it


def test_a_local_from_import_then_its_call(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/probe.py": "import torch\n\ndef has_gpu():\n    return torch.cuda.is_available()\n",
        "pkg/util.py": "def get_backend():\n    from pkg.probe import has_gpu\n    return has_gpu()\n",
        "pkg/layer.py": LAYER,
    })
    assert found == {("pkg/layer.py", 3): [
        ("call", "pkg.layer", "pkg.util.get_backend", "pkg/layer.py", 3),
        ("call", "pkg.util.get_backend", "pkg.probe.has_gpu", "pkg/util.py", 3),
        ("call", "pkg.probe.has_gpu", "torch.cuda.is_available", "pkg/probe.py", 4),
    ]}


def test_a_local_from_import_of_a_module_whose_import_reaches_a_sink(tmp_path):
    """`from pkg.gemm import run` runs pkg.gemm, which imports cutlass; `run()` itself
    does nothing."""
    found = call_findings(tmp_path, {
        "pkg/gemm.py": "import cutlass\n\ndef run():\n    pass\n",
        "pkg/util.py": "def get_backend():\n    from pkg.gemm import run\n    return run()\n",
        "pkg/layer.py": LAYER,
    })
    assert found == {("pkg/layer.py", 3): [
        ("call", "pkg.layer", "pkg.util.get_backend", "pkg/layer.py", 3),
        ("import", "pkg.util.get_backend", "pkg.gemm", "pkg/util.py", 2),
        ("import", "pkg.gemm", "cutlass", "pkg/gemm.py", 1),
    ]}


# ----------------------------------------------------------------- nested helpers and methods


def test_nested_helpers(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/util.py": "def a():\n    return b()\n\ndef b():\n    import cutlass\n",
        "pkg/layer.py": "from pkg.util import a\n\nX = a()\n",
    })
    assert found == {("pkg/layer.py", 3): [
        ("call", "pkg.layer", "pkg.util.a", "pkg/layer.py", 3),
        ("call", "pkg.util.a", "pkg.util.b", "pkg/util.py", 2),
        ("import", "pkg.util.b", "cutlass", "pkg/util.py", 5),
    ]}


PLATFORM = {
    "pkg/platform.py": (
        "class Platform:\n    def backend(self):\n        return self.load()\n\n"
        "    def load(self):\n        import cutlass\n        return cutlass\n\n"
        "current_platform = Platform()\n"
    ),
}


def test_a_method_of_a_module_level_instance(tmp_path):
    found = call_findings(tmp_path, {
        **PLATFORM,
        "pkg/layer.py": "from pkg.platform import current_platform\n\nB = current_platform.backend()\n",
    })
    assert found == {("pkg/layer.py", 3): [
        ("call", "pkg.layer", "pkg.platform.current_platform.backend", "pkg/layer.py", 3),
        ("call", "pkg.platform.Platform.backend", "pkg.platform.Platform.load", "pkg/platform.py", 3),
        ("import", "pkg.platform.Platform.load", "cutlass", "pkg/platform.py", 6),
    ]}


def test_a_method_not_called_at_import_is_quiet(tmp_path):
    assert call_findings(tmp_path, {
        **PLATFORM,
        "pkg/layer.py": "from pkg.platform import current_platform\n\ndef b():\n    return current_platform.backend()\n",
    }) == {}


# ------------------------------------------------------------------------ branches and try


def test_a_platform_branch_decided_away_is_quiet(tmp_path):
    assert call_findings(tmp_path, {
        "pkg/util.py": "import torch\n\ndef get_backend():\n    if torch.version.hip:\n        import cutlass\n",
        "pkg/layer.py": LAYER,
    }) == {}


def test_a_platform_branch_that_runs_on_cuda_counts(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/util.py": "import torch\n\ndef get_backend():\n    if torch.version.hip:\n        return None\n"
                       "    import cutlass\n",
        "pkg/layer.py": LAYER,
    })
    assert [hop[:3] for hop in found[("pkg/layer.py", 3)]] == [
        ("call", "pkg.layer", "pkg.util.get_backend"), ("import", "pkg.util.get_backend", "cutlass")]


def test_an_import_in_a_try_body_runs(tmp_path):
    found = call_findings(tmp_path, {
        "pkg/util.py": "def get_backend():\n    try:\n        import cutlass\n    except ImportError:\n"
                       "        return None\n    return cutlass\n",
        "pkg/layer.py": LAYER,
    })
    assert [hop[:3] for hop in found[("pkg/layer.py", 3)]] == [
        ("call", "pkg.layer", "pkg.util.get_backend"), ("import", "pkg.util.get_backend", "cutlass")]


UNDECIDED = {
    "pkg/util.py": "from pkg import flags\n\ndef get_backend():\n    if flags.USE_CUTLASS:\n        import cutlass\n",
    "pkg/flags.py": "USE_CUTLASS = False\n",
    "pkg/layer.py": LAYER,
}


def test_an_undecided_branch_is_followed_only_when_asked_and_then_named(tmp_path):
    assert call_findings(tmp_path / "default", UNDECIDED) == {}
    report = report_of(tmp_path / "follow", {
        **UNDECIDED, "pyproject.toml": '[tool.importguard]\nenvironment = { undecided-calls = "follow" }\n'})
    (finding,) = [f for f in report.findings if f.code == "IG003"]
    assert finding.chain[-1].kind == "import" and finding.chain[-1].imported == "cutlass"
    assert "only on some paths through the caller" in finding.chain[-1].via
    assert "(on some paths: a function on the way makes the call only on a branch)" in finding.message


def test_the_nvml_check_set_by_the_function_before_its_import(tmp_path):
    """The summary of torch.utils.cpp_extension is quiet under the NVML check (nvml_off):
    a function that sets PYTORCH_NVML_BASED_CUDA_CHECK=1 before importing it reaches
    nothing; the same function without the setting does."""
    body = "def load():\n    import torch.utils.cpp_extension\n"
    loud = call_findings(tmp_path / "loud", {"pkg/util.py": body, "pkg/layer.py": "from pkg.util import load\nload()\n"})
    assert [hop[:3] for hop in loud[("pkg/layer.py", 2)]] == [
        ("call", "pkg.layer", "pkg.util.load"), ("import", "pkg.util.load", "torch.utils.cpp_extension")]
    quiet = "import os\n\ndef load():\n    os.environ['PYTORCH_NVML_BASED_CUDA_CHECK'] = '1'\n" \
            "    import torch.utils.cpp_extension\n"
    assert call_findings(tmp_path / "quiet", {"pkg/util.py": quiet,
                                              "pkg/layer.py": "from pkg.util import load\nload()\n"}) == {}


# ------------------------------------------- what is imported already when the function runs


def test_a_sink_package_the_function_s_module_imported_above_is_no_new_import(tmp_path):
    """flashinfer's shape: the module imports cutlass at its top, and the function's
    `from cutlass.cutlass_dsl import CuTeDSL` then imports nothing new."""
    assert call_findings(tmp_path, {
        "pkg/util.py": "import cutlass.utils\n\ndef targets():\n    from cutlass.cutlass_dsl import CuTeDSL\n"
                       "    return CuTeDSL\n",
        "pkg/layer.py": "from pkg.util import targets\n\nT = targets()\n",
    }) == {}


def test_a_module_imported_above_through_another_is_no_new_import(tmp_path):
    assert call_findings(tmp_path, {
        **KERNELS,
        "pkg/helpers.py": "import pkg.kernels.ops\n",
        "pkg/util.py": "import pkg.helpers\n\ndef get_backend():\n    import pkg.kernels.ops\n",
        "pkg/layer.py": LAYER,
    }) == {("pkg/kernels/cuda_ops.py", 3): [
        ("call", "pkg.kernels.cuda_ops", "torch.cuda.is_available", "pkg/kernels/cuda_ops.py", 3)]}


def test_an_import_of_the_module_below_the_def_has_not_run_when_it_is_called(tmp_path):
    """Called at its own module's import before the module-level `import cutlass`:
    the function's import is the first."""
    found = call_findings(tmp_path, {"pkg/util.py": CUTLASS_BACKEND + "\nB = get_backend()\n\nimport cutlass\n"})
    assert [hop[:3] for hop in found[("pkg/util.py", 5)]] == [
        ("call", "pkg.util", "pkg.util.get_backend"), ("import", "pkg.util.get_backend", "cutlass")]


# ------------------------------------------------------------- chains through such a module


def test_an_eager_import_of_the_calling_module_reaches_through_it(tmp_path):
    report = report_of(tmp_path, {"pkg/__init__.py": "from pkg import layer\n", "pkg/util.py": CUTLASS_BACKEND,
                                  "pkg/layer.py": LAYER})
    (chain,) = [f for f in report.findings if f.code == "IG001"]
    assert [(h.kind, h.imported) for h in chain.chain] == [
        ("import", "pkg.layer"), ("call", "pkg.util.get_backend"), ("import", "cutlass")]
    assert "whose import calls `pkg.util.get_backend()`, which reaches `cutlass`; that import " in chain.message


def test_a_cycle_through_the_function_s_import_ends(tmp_path):
    """The function imports the module that calls it: Python finds it running. The
    package's chain search meets the same cycle from outside."""
    report = report_of(tmp_path, {
        "pkg/__init__.py": "from pkg import layer\n",
        "pkg/util.py": "def get_backend():\n    import pkg.layer\n",
        "pkg/layer.py": LAYER,
    })
    assert report.findings == ()


# ------------------------------------------------------------------------------ the plan


def test_the_plan_defers_the_call_and_leaves_no_finding(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("apply_plan", Path(__file__).parent.parent / "bench" / "apply_plan.py")
    apply_plan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(apply_plan)
    files = {"pkg/__init__.py": "from pkg import layer\n", "pkg/util.py": CUTLASS_BACKEND, "pkg/layer.py": LAYER,
             **KERNELS, "pkg/other.py": "def k():\n    import pkg.kernels.ops\n\nK = k()\n"}
    root = write_tree(tmp_path, files)
    before = check_tree(root)
    assert {f.code for f in before.findings} == {"IG001", "IG003"}
    plan = before.plan
    assert plan is not None and plan.cleared == len(before.findings)
    assert sorted((e.path, e.line) for e in plan.edits) == [
        ("pkg/kernels/cuda_ops.py", 3), ("pkg/layer.py", 3), ("pkg/other.py", 4)]
    # Checking the package `__init__` alone: its chain runs through layer.py's call, which
    # the plan must still name (it does not call the tree clean).
    alone = check_tree(root, ["pkg/__init__.py"])
    assert [f.code for f in alone.findings] == ["IG001"]
    assert alone.plan is not None and [(e.path, e.line) for e in alone.plan.edits] == [("pkg/layer.py", 3)]
    causes = {(c.cause.path, c.cause.line) for c in root_causes(before.findings)}
    assert ("pkg/util.py", 2) in causes  # the function's import of cutlass
    for path in {e.path for e in plan.edits}:
        apply_plan.wrap(root / path, [e.line for e in plan.edits if e.path == path])
    after = check_tree(root)
    assert after.findings == () and after.plan is None


# ------------------------------------------------------------------------------ the cache


def test_cached_output_equals_no_cache_output_over_edits(tmp_path):
    root = write_tree(tmp_path, {"pkg/__init__.py": "from pkg import layer\n", **KERNELS,
                                 "pkg/util.py": "def get_backend():\n    import pkg.kernels.ops\n",
                                 "pkg/layer.py": LAYER, "pkg/quiet.py": "from pkg import util\n"})

    def run(*extra):
        done = subprocess.run([sys.executable, "-m", "importguard", "check", "--output-format", "json", *extra, "pkg"],
                              cwd=root, capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    steps = [
        # The module the function imports stops reaching the sink, then reaches it again.
        ("pkg/kernels/cuda_ops.py", "import torch\n\nN = torch.cuda.device_count()\n"),
        ("pkg/kernels/cuda_ops.py", KERNELS["pkg/kernels/cuda_ops.py"]),
        # The function imports another module, then a sink directly.
        ("pkg/util.py", "def get_backend():\n    import pkg.kernels\n"),
        ("pkg/util.py", CUTLASS_BACKEND),
        # A module two hops below the function's import gains a sink.
        ("pkg/util.py", "def get_backend():\n    import pkg.kernels\n"),
        ("pkg/kernels/__init__.py", "from pkg.kernels import ops\n"),
        ("pkg/kernels/cuda_ops.py", "import cutlass\n"),
    ]
    at_call = []
    assert run() == run("--no-cache")
    for path, text in steps:
        (root / path).write_text(text)
        cached, fresh = run(), run("--no-cache")
        assert cached == fresh, path
        at_call.append(any(f["path"] == "pkg/layer.py" for f in json.loads(fresh)["findings"]))
    # The edits change the answer at the call, so the comparison is not between equal reports.
    assert at_call == [False, True, False, True, False, True, True]


# --------------------------------------------------- installed source, with --follow-installed


def test_an_installed_library_function_whose_helper_imports_a_module(tmp_path):
    """torch's shape (issue 28), in a library of its own name so that no summary row
    answers first: `compile` -> `_optimize` -> `get_compiler_config()`, whose
    function-level import of `_inductor.compile_fx` runs a module chain to
    `torch.cuda.is_available()` at import."""
    from test_follow_installed import install_tree, run

    site = tmp_path / "site"
    install_tree(site, "fake-compile", "1.0", {
        "fakecompile/__init__.py": "from fakecompile.eval_frame import compile\n",
        "fakecompile/eval_frame.py": (
            "def compile(model=None, backend='inductor'):\n    return _optimize(backend)\n\n"
            "def _optimize(backend):\n    return get_compiler_config()\n\n"
            "def get_compiler_config():\n    import fakecompile._inductor.compile_fx\n    return None\n"
        ),
        "fakecompile/_inductor/__init__.py": "",
        "fakecompile/_inductor/compile_fx.py": "from fakecompile._inductor import debug\n",
        "fakecompile/_inductor/debug.py": "from fakecompile._inductor import ir\n",
        "fakecompile/_inductor/ir.py": "from fakecompile._inductor.runtime import benchmarking\n",
        "fakecompile/_inductor/runtime/__init__.py": "",
        "fakecompile/_inductor/runtime/benchmarking.py": "import torch\n\nHAS_GPU = torch.cuda.is_available()\n",
    }, top_level=["fakecompile"])
    root = write_tree(tmp_path / "project", {
        "app/__init__.py": "",
        "app/model.py": "import fakecompile\n\n@fakecompile.compile\ndef forward(x):\n    return x\n",
    })
    found = [f for f in run(root, site).findings if f.code == "IG003"]
    assert [(f.path, f.line, f.sink) for f in found] == [("app/model.py", 3, "torch.cuda.is_available")]
    inside = str(site / "fakecompile")
    assert [(h.kind, h.importer, h.imported, h.path.replace(inside, "SITE"), h.line) for h in found[0].chain] == [
        ("call", "app.model", "fakecompile.compile", "app/model.py", 3),
        ("call", "fakecompile.eval_frame.compile", "fakecompile.eval_frame._optimize", "SITE/eval_frame.py", 2),
        ("call", "fakecompile.eval_frame._optimize", "fakecompile.eval_frame.get_compiler_config",
         "SITE/eval_frame.py", 5),
        ("import", "fakecompile.eval_frame.get_compiler_config", "fakecompile._inductor.compile_fx",
         "SITE/eval_frame.py", 8),
        ("import", "fakecompile._inductor.compile_fx", "fakecompile._inductor.debug", "SITE/_inductor/compile_fx.py", 1),
        ("import", "fakecompile._inductor.debug", "fakecompile._inductor.ir", "SITE/_inductor/debug.py", 1),
        ("import", "fakecompile._inductor.ir", "fakecompile._inductor.runtime.benchmarking", "SITE/_inductor/ir.py", 1),
        ("call", "fakecompile._inductor.runtime.benchmarking", "torch.cuda.is_available",
         "SITE/_inductor/runtime/benchmarking.py", 3),
    ]
    # Without the library's source the call is opaque.
    assert [f for f in run(root, None).findings if f.code == "IG003"] == []
