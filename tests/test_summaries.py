"""Library effect summaries (issue 28, item 2): the shipped rows, what they make of calls
and imports at import time, their keyword conditions, and bad summary files."""

from __future__ import annotations

import json

import pytest

from importguard.cache.store import decode, encode
from importguard.facts.collect import collect_source
from importguard.model import INITIALIZER, SourceFile
from importguard.sinks import (
    DEFAULT_SINK_CALLS,
    DEFAULT_SINK_MODULES,
    HAND_WRITTEN_SINK_CALLS,
    HAND_WRITTEN_SINK_MODULES,
)
from importguard.summaries.rows import (
    INITIALIZES,
    NOTHING,
    SummaryError,
    find,
    library_of,
    measured_nothing,
    read_file,
    shipped_rows,
)

from conftest import REPO, check_tree, write_tree

# What shared/cuda-evidence.md (2026-12-06) measured on an H100, torch 2.11.0+cu130.
MEASURED_INITIALIZERS = {
    ("call", "torch.compile"), ("import", "torch.utils.cpp_extension"), ("import", "torch.utils.benchmark"),
    ("import", "torch._inductor.runtime.benchmarking"), ("call", "torch.cuda.get_arch_list"),
    ("call", "torch.cuda.is_bf16_supported"), ("call", "torch.backends.cudnn.version"),
    ("call", "torch.Generator"), ("call", "torch.cuda.get_rng_state"), ("import", "torch.sparse._triton_ops"),
    # bench/measure_summaries.py, 2026-12-06 (docs/summaries.md)
    ("import", "torch._inductor.compile_fx"), ("call", "torch.cuda.current_stream"),
    ("call", "torch.cuda.is_current_stream_capturing"),
    # bench/measure_summaries.py --second-batch, 2026-12-06
    ("call", "torch.cuda.CUDAGraph"), ("call", "torch.cuda.default_stream"),
}
MEASURED_NOTHING = {
    ("call", "torch.cuda.manual_seed"), ("call", "torch.cuda.Event"), ("call", "torch.set_default_device"),
    ("call", "torch.backends.cudnn.is_available"), ("call", "torch.cuda.nccl.version"),
    ("call", "torch.cuda.memory_allocated"), ("call", "torch.cuda.empty_cache"), ("call", "torch.library.custom_op"),
    ("call", "torch.backends.cuda.is_flash_attention_available"), ("call", "torch.cuda.memory_reserved"),
    ("call", "torch.cuda.max_memory_allocated"), ("call", "torch.cuda.is_initialized"),
}
RESULTS = REPO / "bench" / "results"
# Rows of the second and third batches -> (batch, the measurement's id in its results file).
BATCH_ROWS = {
    "torch.cuda.CUDAGraph": ("second-batch", "cudagraph"), "torch.cuda.default_stream": ("second-batch", "default_stream"),
    "torch.backends.cuda.is_flash_attention_available": ("second-batch", "flash-attention-available"),
    "torch.cuda.memory_reserved": ("second-batch", "memory_reserved"),
    "torch.cuda.max_memory_allocated": ("second-batch", "max_memory_allocated"),
    "torch.cuda.is_initialized": ("second-batch", "is_initialized"),
    **{f"jax.numpy.{n}": ("second-batch", f"jax-{n}") for n in ("zeros", "array", "float32", "finfo")},
    **{f"jax.numpy.{n}": ("third-batch", f"jax-{n}") for n in ("ones", "asarray", "arange", "full", "eye")},
    **{f"jax.numpy.{n}": ("third-batch-jax-serial", f"jax-{n}") for n in ("linspace", "empty", "int32")},
    "jax.numpy.dtype": ("third-batch", "jax-dtype-obj"), "jax.random.PRNGKey": ("second-batch", "jax-prngkey"),
    "jax.random.key": ("third-batch", "jax-random-key"), "jax.device_put": ("third-batch", "jax-device_put"),
    **{f"jax.{n}": ("second-batch", f"jax-{n}") for n in ("device_count", "local_devices", "default_backend")},
    "jax.jit": ("second-batch", "jax-jit-decorator"),
    "cupy.zeros": ("second-batch", "cupy-zeros"), "cupy.cuda.is_available": ("second-batch", "cupy-is_available"),
    **{f"cupy.{n}": ("third-batch", f"cupy-{n}") for n in ("ones", "array", "asarray", "arange", "empty")},
    "cupy.cuda.runtime.getDeviceProperties": ("third-batch", "cupy-getDeviceProperties"),
    "cupy.cuda.runtime.runtimeGetVersion": ("second-batch", "cupy-runtimeGetVersion"),
    "cupy.cuda.Device": ("third-batch", "cupy-device"),
    "numba.cuda.get_current_device": ("second-batch", "numba-get_current_device"),
    "numba.cuda.jit": ("second-batch", "numba-jit-decorator"),
    "cuda.bindings.runtime.cudaGetDeviceCount": ("second-batch", "cudart-getDeviceCount"),
    **{f"cuda.bindings.runtime.cuda{n}": ("third-batch", f"cudart-{n[0].lower()}{n[1:]}")
       for n in ("SetDevice", "GetDevice", "DriverGetVersion", "GetDeviceProperties", "RuntimeGetVersion")},
    "transformers.utils.is_torch_bf16_gpu_available": ("second-batch", "transformers-bf16-gpu"),
    "transformers.utils.is_torch_tf32_available": ("second-batch", "transformers-tf32"),
    "transformers.utils.is_torch_cuda_available": ("third-batch", "transformers-cuda-available"),
    "transformers.utils.is_flash_attn_2_available": ("third-batch", "transformers-fa2-available"),
}


@pytest.mark.parametrize("name", sorted(BATCH_ROWS))
def test_a_row_of_the_later_batches_says_what_its_measurement_saw(name):
    batch, ident = BATCH_ROWS[name]
    results = json.loads((RESULTS / f"summaries-2026-12-06-h100-{batch}.json").read_text())
    (measured,) = [r for r in results["rows"] if r["id"] == ident]
    (row,) = [r for r in shipped_rows() if r.name == name and r.kind == "call"]
    assert (row.effect == INITIALIZES) == measured["initialized"]
    assert measured["cuinit_in_forked_child"] == ("3" if measured["initialized"] else "0")
    assert f"-{batch}.json" in row.measured


def test_shipped_rows_cover_the_measurements():
    rows = [row for row in shipped_rows() if library_of(row.name) == "torch"]
    initializers = {(row.kind, row.name) for row in rows if row.effect == INITIALIZES}
    assert initializers == MEASURED_INITIALIZERS
    assert MEASURED_NOTHING <= set(measured_nothing(rows))
    for row in rows:
        assert row.measured and row.versions == ("torch 2.11.0+cu130",), row.name


def test_every_shipped_row_is_measured_and_agrees_with_the_hand_written_sinks():
    rows = shipped_rows()
    assert {library_of(row.name) for row in rows} >= {"torch", "triton", "jax", "cupy", "numba", "cutlass", "cuda"}
    assert all(row.measured and row.versions for row in rows)
    effective = {(row.kind, row.name): row.effect for row in rows if row.effect != NOTHING}
    for sink in HAND_WRITTEN_SINK_CALLS:
        assert effective.get(("call", sink.name), INITIALIZES) == INITIALIZES, sink.name
    for sink in HAND_WRITTEN_SINK_MODULES:
        assert ("import", sink.module) in effective, sink.module
    # version-dependent: both rows are kept, and the module stays a sink
    assert {row.effect for row in find(rows, "import", "cutlass")} == {INITIALIZES, NOTHING}
    assert ("import", "cutlass") not in measured_nothing(rows)


def test_no_default_sink_is_a_measured_non_initializer():
    nothing = measured_nothing(shipped_rows())
    for sink in DEFAULT_SINK_CALLS:
        assert ("call", sink.name) not in nothing, sink.name
    for sink in DEFAULT_SINK_MODULES:
        assert ("import", sink.module) not in nothing, sink.module


def test_compile_rows_split_on_the_backend_keyword():
    rows = find(shipped_rows(), "call", "torch.compile")
    assert sorted((row.effect, row.when) for row in rows) == [
        (INITIALIZES, (("backend", ("", "inductor")), ("disable", ("", "False")))),
        (NOTHING, (("backend", ("eager", "aot_eager")),)),
        (NOTHING, (("disable", ("True",)),)),
    ]
    assert [row.applied_keyword for row in rows if row.effect == INITIALIZES] == ["model"]


def ig003(tmp_path, source):
    root = write_tree(tmp_path, {"m.py": source})
    return [(f.line, f.sink, f.message) for f in check_tree(root).findings if f.code == "IG003"]


@pytest.mark.parametrize(
    "source, line",
    [
        ("import torch\n@torch.compile\ndef f(x):\n    return x\n", 2),
        ("import torch\n@torch.compile(dynamic=True)\ndef f(x):\n    return x\n", 2),
        ("import torch\ndef f(x):\n    return x\ng = torch.compile(f)\n", 4),
        ("import torch\ndef f(x):\n    return x\ng = torch.compile(model=f, dynamic=True)\n", 4),
        ("import torch\nS = torch.cuda.current_stream()\n", 2),
        ("import torch\ndef f(x):\n    return x\ng = torch.compile(dynamic=True)(f)\n", 4),
        ('import torch\n@torch.compile(backend="inductor")\ndef f(x):\n    return x\n', 2),
        ("from torch import compile\n@compile\ndef f(x):\n    return x\n", 2),
        ("import torch\nclass K:\n    @torch.compile\n    def f(self, x):\n        return x\n", 3),
        ("import torch\nH = False\n@torch.compile(dynamic=True) if not H else lambda f: f\ndef f(x):\n    return x\n", 3),
        ("import torch.cuda as tc\nS = tc.get_rng_state()\n", 2),
        ('import torch\nG = torch.Generator(device="cuda")\n', 2),
        ("import torch\nA = torch.cuda.get_arch_list()\n", 2),
    ],
)
def test_measured_initializing_calls_are_reported(tmp_path, source, line):
    found = ig003(tmp_path, source)
    assert [entry[0] for entry in found] == [line]
    assert "measured, torch 2.11.0+cu130" in found[0][2] and "; summary)" in found[0][2]


@pytest.mark.parametrize(
    "source",
    [
        'import torch\n@torch.compile(backend="eager")\ndef f(x):\n    return x\n',
        "import torch\n@torch.compile(disable=True)\ndef f(x):\n    return x\n",
        'import torch\n@torch.compile(backend="aot_eager")\ndef f(x):\n    return x\n',
        # measured: the call alone compiles nothing; only what it returns, once applied
        "import torch\ndeco = torch.compile(dynamic=True)\n",
        "import torch\nA = torch.cuda.memory_allocated()\ntorch.cuda.empty_cache()\n",
        "import torch\nG = torch.Generator()\n",
        "import torch\ntorch.cuda.manual_seed(0)\nE = torch.cuda.Event()\ntorch.set_default_device('cuda')\n",
        "import torch\nV = torch.cuda.nccl.version()\nA = torch.backends.cudnn.is_available()\n",
        "import torch\ndef f(x):\n    return torch.compile(x)\n",
    ],
)
def test_measured_non_initializers_and_excluded_conditions_are_not(tmp_path, source):
    assert ig003(tmp_path, source) == []


def test_a_function_applying_compile_at_once_reaches_it(tmp_path):
    root = write_tree(tmp_path, {"m.py": (
        "import torch\n"
        "def wrap(fn):\n    return torch.compile(dynamic=True)(fn)\n"
        "def factory_only():\n    return torch.compile(dynamic=True)\n"
        "A = wrap(print)\nB = factory_only()\n")})
    found = [(f.line, f.sink) for f in check_tree(root).findings if f.code == "IG003"]
    assert found == [(6, "torch.compile")]


def test_a_keyword_that_is_no_literal_names_the_condition(tmp_path):
    found = ig003(tmp_path, "import torch\nB = pick()\n@torch.compile(backend=B)\ndef f(x):\n    return x\n")
    assert [line for line, _, _ in found] == [3]
    assert 'here only when `backend` is absent or "inductor" (not a literal at this call)' in found[0][2]
    # `**options` may hold the backend too
    found = ig003(tmp_path, "import torch\nO = {}\n@torch.compile(**O)\ndef f(x):\n    return x\n")
    assert "`backend` is absent or" in found[0][2]


def test_imports_of_measured_modules_are_sinks(tmp_path):
    root = write_tree(tmp_path, {
        "pkg/__init__.py": "from pkg import kernels\n",
        "pkg/kernels.py": "import torch.utils.cpp_extension\n",
        "pkg/other/__init__.py": "from torch.utils import benchmark\nimport torch._dynamo\n",
    })
    found = [(f.code, f.path, f.sink, f.strength) for f in check_tree(root).findings]
    assert found == [
        ("IG001", "pkg/__init__.py", "torch.utils.cpp_extension", INITIALIZER),
        ("IG001", "pkg/other/__init__.py", "torch.utils.benchmark", INITIALIZER),
    ]


def test_call_keywords_survive_the_cache():
    source = SourceFile("/x/m.py", "m", False, "/x")
    facts = collect_source(b'import torch\n@torch.compile(backend="eager", n=1, b=x, **o)\ndef f(): pass\n'
                           b'g = torch.compile(f, *more)\ndef h():\n    return torch.compile(f, 2, backend="eager")\n', source)
    # the factory call of `@torch.compile(...)`: what it returns is applied to `f` at once
    assert facts.calls[0].keywords == (("#applied", "1"), ("backend", "eager"), ("n", "1"), ("b", "*"), ("**", "*"))
    assert facts.calls[0].context == "decorator"
    assert facts.calls[1].keywords == (("#positional", "1"), ("*", "*"))
    assert facts.functions[-1].calls[0].keywords == (("#positional", "2"), ("backend", "eager"))
    assert decode(source, json.loads(json.dumps(encode(facts)))) == facts


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "invalid JSON"),
        ('{"format": 2, "rows": []}', 'a summary file is {"format": 1'),
        ('{"format": 1, "rows": [{"name": "t.f", "kind": "call", "effect": "maybe"}]}', 'row 1: "effect" must be'),
        ('{"format": 1, "rows": [{"name": "t f", "kind": "call", "effect": "nothing"}]}', '"name" must be'),
        ('{"format": 1, "rows": [{"name": "t", "kind": "import", "effect": "nothing", "when": {"a": ["b"]}}]}',
         '"when" applies to calls only'),
        ('{"format": 1, "rows": [{"name": "t", "kind": "import", "effect": "nothing", "extra": 1}]}',
         "unknown key: extra"),
    ],
)
def test_bad_summary_files_are_named_errors(tmp_path, text, message):
    path = tmp_path / "lib.json"
    path.write_text(text)
    with pytest.raises(SummaryError, match="lib.json") as error:
        read_file(path)
    assert message in str(error.value)


NVML_SET_FIRST = {
    "pkg/__init__.py": "import pkg.env_override\n",
    "pkg/env_override.py": 'import os\nos.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"\n',
    "pkg/kernels.py": ("import torch\nimport torch.utils.cpp_extension\n\n"
                       "@torch.compile\ndef f(x):\n    return x\n"),
    "pkg/sub/__init__.py": "from pkg import kernels\n",
}


def test_summaries_whose_only_driver_call_is_is_available_are_quiet_under_the_nvml_check(tmp_path):
    """vLLM's package `__init__` imports env_override, which sets PYTORCH_NVML_BASED_CUDA_CHECK=1
    before anything else runs: `@torch.compile` and `import torch.utils.cpp_extension`, whose
    only driver call is `torch.cuda.is_available()`, then initialize nothing (measured)."""
    report = check_tree(write_tree(tmp_path / "set", NVML_SET_FIRST))
    assert [(f.code, f.path, f.line) for f in report.findings] == []
    unset = {**NVML_SET_FIRST, "pkg/env_override.py": "import os\n"}
    report = check_tree(write_tree(tmp_path / "unset", unset))
    assert sorted((f.code, f.path, f.line) for f in report.findings) == [
        ("IG001", "pkg/sub/__init__.py", 1),
        ("IG003", "pkg/kernels.py", 4),
    ]
