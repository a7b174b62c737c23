"""Default sinks, each with the one-line reason shown in messages.

Every reason states only what was measured on a real GPU (shared/cuda-evidence.md:
H100, driver 580.159.04; docs/cuda-calls-evidence.md: H200, driver 580.159.04, torch
2.11.0+cu130; fresh interpreter per row). Importing torch, triton, cupy, numba.cuda,
jax, cuda.core or pynvml was measured NOT to initialize the driver, so none of them is
a default module sink; certain calls into them are call sinks. Measured not to
initialize, and so never sinks: `torch.cuda.device_count()`,
`torch.cuda.is_initialized()`, `torch.device("cuda")`, NVML calls, tensors on "cpu".

A call sink `a.b.f` also matches `a.b.<submodule>.f`: torch defines some of these
functions in a submodule and re-exports them (`torch.cuda.memory.mem_get_info` is
`torch.cuda.mem_get_info`, `torch.cuda.streams.Stream` is `torch.cuda.Stream`,
measured as the same object), and its submodules import the others from the package
(`torch.cuda.random.current_device`). See `call_sink_for` in graph/reach.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from importguard.model import DRIVER_API, INITIALIZER, VERSION_DEPENDENT, CallSink, ModuleSink
from importguard.summaries.rows import INITIALIZES, NOTHING, SummaryRow, call_sinks, module_sinks, shipped_rows


@dataclass(frozen=True)
class VersionedSink:
    """A module whose import initializes the driver in some versions of the distribution
    that ships it and not in others, each version measured (the environment profile
    picks the verdict of the installed one; other versions stay version-dependent)."""

    module: str
    distribution: str  # PEP 503 name
    initializes: tuple[str, ...]
    does_not: tuple[str, ...]
    evidence: str

    @property
    def reason(self) -> str:
        return (f"initializes the CUDA driver at import in {self.distribution} {' and '.join(self.initializes)}, "
                f"not in {' or '.join(self.does_not)} (measured)")


def versioned_sinks(rows: tuple[SummaryRow, ...]) -> tuple[VersionedSink, ...]:
    """The modules whose import rows were measured to initialize in some versions and
    nothing in others (versions written "distribution version")."""
    by_module: dict[str, list[SummaryRow]] = {}
    for row in rows:
        if row.kind == "import" and row.versions and row.effect in (INITIALIZES, NOTHING):
            by_module.setdefault(row.name, []).append(row)
    found = []
    for module, group in sorted(by_module.items()):
        if {row.effect for row in group} != {INITIALIZES, NOTHING}:
            continue
        distribution = group[0].versions[0].rsplit(" ", 1)[0]
        versions = {effect: tuple(v.rsplit(" ", 1)[1] for row in group if row.effect == effect for v in row.versions)
                    for effect in (INITIALIZES, NOTHING)}
        found.append(VersionedSink(module, distribution, versions[INITIALIZES], versions[NOTHING],
                                   ", ".join(sorted({row.docs for row in group if row.docs}))))
    return tuple(found)


# The shipped summaries (importguard/summaries/*.json, docs/summaries.md): cutlass's rows
# (4.5.2 initializes; 4.8.0 and 4.8.1 do not) make it a versioned sink.
_SUMMARIES = shipped_rows()
VERSIONED_SINK_MODULES: tuple[VersionedSink, ...] = versioned_sinks(_SUMMARIES)

HAND_WRITTEN_SINK_MODULES: tuple[ModuleSink, ...] = (
    *(ModuleSink(sink.module, sink.reason, VERSION_DEPENDENT) for sink in VERSIONED_SINK_MODULES),
    ModuleSink(
        "cuda.bindings.driver",
        "is the CUDA driver API: importing it alone did not initialize the driver "
        "(measured, cuda-bindings 13.3.1), but its calls that need a device do",
        DRIVER_API,
    ),
)

NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"
IS_AVAILABLE = "torch.cuda.is_available"
IS_INITIALIZED = "torch.cuda.is_initialized"

_INIT = "initializes the CUDA driver (measured)"
_INIT_CONTEXT = "initializes the CUDA driver and creates a context (measured)"
_ON_CUDA = "with a literal CUDA device initializes the CUDA driver and creates a context (measured)"

# Tensor factories measured with device="cuda" (or torch.device("cuda:0")).
TENSOR_FACTORIES = ("empty", "zeros", "ones", "full", "arange", "rand", "randn", "tensor")

HAND_WRITTEN_SINK_CALLS: tuple[CallSink, ...] = (
    CallSink(IS_AVAILABLE, f"initializes the CUDA driver (measured; not with {NVML_CHECK}=1)", INITIALIZER),
    CallSink("torch.cuda.get_device_capability", _INIT, INITIALIZER),
    CallSink("torch.cuda.get_device_name", _INIT, INITIALIZER),
    CallSink("torch.cuda.get_device_properties", _INIT, INITIALIZER),
    CallSink("torch.cuda.current_device", _INIT, INITIALIZER),
    CallSink("torch.cuda.set_device", _INIT, INITIALIZER),
    CallSink("torch.cuda.synchronize", _INIT, INITIALIZER),
    CallSink("torch.cuda.Stream", _INIT_CONTEXT, INITIALIZER),
    CallSink("torch.cuda.mem_get_info", _INIT_CONTEXT, INITIALIZER),
    *(CallSink(f"torch.{name}", _ON_CUDA, INITIALIZER, device=True) for name in TENSOR_FACTORIES),
    CallSink("torch.Tensor.cuda", "moves a tensor to the GPU: initializes the CUDA driver (measured)", INITIALIZER),
    CallSink("torch.Tensor.to", _ON_CUDA, INITIALIZER, device=True),
    CallSink("triton.runtime.driver.active.get_current_target", _INIT, INITIALIZER),
    CallSink("cupy.cuda.runtime.getDeviceCount", _INIT, INITIALIZER),
    CallSink("numba.cuda.is_available", _INIT, INITIALIZER),
    CallSink("jax.devices", _INIT_CONTEXT, INITIALIZER),
    CallSink("cuda.bindings.driver.cuInit", "cuInit is the call that initializes the CUDA driver", INITIALIZER),
)

# The summaries add the library functions and modules measured since; a name written
# above keeps its row here.
DEFAULT_SINK_MODULES: tuple[ModuleSink, ...] = HAND_WRITTEN_SINK_MODULES + tuple(
    sink for sink in module_sinks(_SUMMARIES) if sink.module not in {s.module for s in HAND_WRITTEN_SINK_MODULES}
)
DEFAULT_SINK_CALLS: tuple[CallSink, ...] = HAND_WRITTEN_SINK_CALLS + tuple(
    sink for sink in call_sinks(_SUMMARIES) if sink.name not in {s.name for s in HAND_WRITTEN_SINK_CALLS}
)

# Module sinks that are the driver API: importing them alone was measured not to
# initialize the driver (the agreement report's `driver-api` verdict). Every other
# module sink is taken to initialize it (in some version, as `cutlass` 4.5.2 did).
DRIVER_API_SINK_MODULES: frozenset[str] = frozenset({"cuda.bindings.driver"})
