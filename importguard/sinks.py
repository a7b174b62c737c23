"""Default sinks, each with the one-line reason shown in messages.

Every reason states only what was measured on a real GPU (shared/cuda-evidence.md:
H100, driver 580.159.04, fresh interpreter per row). Importing torch, triton, cupy,
numba.cuda, jax, cuda.core or pynvml was measured NOT to initialize the driver, so
none of them is a default module sink; certain calls into them are call sinks.
"""

from __future__ import annotations

from importguard.model import CallSink, ModuleSink

DEFAULT_SINK_MODULES: tuple[ModuleSink, ...] = (
    ModuleSink(
        "cutlass",
        "initializes the CUDA driver at import in nvidia-cutlass-dsl 4.5.2 "
        "(measured; 4.8.1 does not)",
    ),
    ModuleSink(
        "cuda.bindings.driver",
        "is the CUDA driver API: importing it alone did not initialize the driver "
        "(measured, cuda-bindings 13.3.1), but its calls that need a device do",
    ),
)

_INIT = "initializes the CUDA driver (measured)"
_INIT_CONTEXT = "initializes the CUDA driver and creates a context (measured)"

DEFAULT_SINK_CALLS: tuple[CallSink, ...] = (
    CallSink(
        "torch.cuda.is_available",
        "initializes the CUDA driver (measured; not with PYTORCH_NVML_BASED_CUDA_CHECK=1)",
    ),
    CallSink("torch.cuda.get_device_capability", _INIT),
    CallSink("torch.cuda.get_device_name", _INIT),
    CallSink("torch.cuda.current_device", _INIT),
    CallSink("torch.cuda.Stream", _INIT_CONTEXT),
    CallSink("torch.cuda.mem_get_info", _INIT_CONTEXT),
    CallSink("triton.runtime.driver.active.get_current_target", _INIT),
    CallSink("cupy.cuda.runtime.getDeviceCount", _INIT),
    CallSink("numba.cuda.is_available", _INIT),
    CallSink("jax.devices", _INIT_CONTEXT),
    CallSink("cuda.bindings.driver.cuInit", "cuInit is the call that initializes the CUDA driver"),
)

# Module sinks that are the driver API: importing them alone was measured not to
# initialize the driver (the agreement report's `driver-api` verdict). Every other
# module sink is taken to initialize it (in some version, as `cutlass` 4.5.2 did).
DRIVER_API_SINK_MODULES: frozenset[str] = frozenset({"cuda.bindings.driver"})
