"""Measure, on a machine with an NVIDIA GPU, what the summary rows claim
(importguard/summaries/*.json, docs/summaries.md).

Each row's code runs as module-level code in a fresh interpreter (`python -c`, never a
fork of this one), after `import torch` (measured not to initialize the driver). Then:
- initialized: libcuda is looked up among the loaded objects with dlopen(RTLD_NOLOAD) and
  `cuDeviceGetCount` is called through it: 3 (CUDA_ERROR_NOT_INITIALIZED) until someone
  called cuInit; it initializes nothing itself (shared/cuda-evidence.md);
- fork: the process forks; the child calls cuInit(0): 0 fine, 3 broken;
- via: torch.cuda's functions, `torch.cuda._lazy_init` and `torch._C._cuda_getDeviceCount`
  are wrapped before the row runs, and the stack of the call during which the driver
  became initialized is kept (the frames outside this script).

    python bench/measure_summaries.py --out measured.json [--jobs N] [--row ID]...
    python bench/measure_summaries.py --probe-case OUT.txt   # importguard probe, real torch

Standard library only (and torch, triton where the rows use them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

DEF = "def f(x):\n    return x + 1\n"
ROWS = [
    # (id, what the summary row says, code run at import)
    ("import-torch", "nothing", "import torch\n"),
    ("device_count", "nothing", "torch.cuda.device_count()\n"),
    ("compile-decorator", "initializes", "@torch.compile\n" + DEF),
    ("compile-dynamic", "initializes", "@torch.compile(dynamic=True)\n" + DEF),
    ("compile-call", "initializes", DEF + "g = torch.compile(f)\n"),
    ("compile-inductor", "initializes", '@torch.compile(backend="inductor")\n' + DEF),
    ("compile-eager", "nothing", '@torch.compile(backend="eager")\n' + DEF),
    ("compile-disable", "nothing", "@torch.compile(disable=True)\n" + DEF),
    ("compile-aot-eager", "?", '@torch.compile(backend="aot_eager")\n' + DEF),
    ("compile-no-model", "?", "deco = torch.compile(dynamic=True)\n"),
    ("import-cpp_extension", "initializes", "import torch.utils.cpp_extension\n"),
    ("import-benchmark", "initializes", "import torch.utils.benchmark\n"),
    ("import-inductor-benchmarking", "initializes", "import torch._inductor.runtime.benchmarking\n"),
    ("import-compile_fx", "?", "import torch._inductor.compile_fx\n"),
    ("import-sparse-triton_ops", "initializes", "import torch.sparse._triton_ops\n"),
    ("import-dynamo", "nothing", "import torch._dynamo\n"),
    ("import-inductor", "nothing", "import torch._inductor\n"),
    ("get_arch_list", "initializes", "torch.cuda.get_arch_list()\n"),
    ("is_bf16_supported", "initializes", "torch.cuda.is_bf16_supported()\n"),
    ("cudnn-version", "initializes", "torch.backends.cudnn.version()\n"),
    ("generator-cuda", "initializes", 'torch.Generator(device="cuda")\n'),
    ("generator-cpu", "nothing", "torch.Generator()\n"),
    ("get_rng_state", "initializes", "torch.cuda.get_rng_state()\n"),
    ("manual_seed", "nothing", "torch.cuda.manual_seed(0)\n"),
    ("event", "nothing", "torch.cuda.Event()\n"),
    ("set_default_device", "nothing", 'torch.set_default_device("cuda")\n'),
    ("cudnn-is_available", "nothing", "torch.backends.cudnn.is_available()\n"),
    ("nccl-version", "nothing", "import torch.cuda.nccl\ntorch.cuda.nccl.version()\n"),
    ("memory_allocated", "?", "torch.cuda.memory_allocated()\n"),
    ("empty_cache", "?", "torch.cuda.empty_cache()\n"),
    ("current_stream", "?", "torch.cuda.current_stream()\n"),
    ("is_current_stream_capturing", "?", "torch.cuda.is_current_stream_capturing()\n"),
    ("custom_op", "?", '@torch.library.custom_op("ig::f", mutates_args=())\n'
                       "def f(x: torch.Tensor) -> torch.Tensor:\n    return x.clone()\n"),
    ("triton-jit", "?", "import triton\n@triton.jit\ndef k(x):\n    pass\n"),
    # Shapes a held-out incident may use at module level (2026-12-06, second batch).
    ("cuda-device-context", "?", "with torch.cuda.device(0):\n    pass\n"),
    ("cudagraph", "?", "torch.cuda.CUDAGraph()\n"),
    ("flash-attention-available", "?", "torch.backends.cuda.is_flash_attention_available()\n"),
    ("memory_reserved", "?", "torch.cuda.memory_reserved()\n"),
    ("max_memory_allocated", "?", "torch.cuda.max_memory_allocated()\n"),
    ("default_stream", "?", "torch.cuda.default_stream()\n"),
    ("pin_memory", "?", "torch.empty(4).pin_memory()\n"),
    ("autocast-cuda", "?", 'torch.autocast("cuda")\n'),
    ("grad-scaler-cuda", "?", 'torch.amp.GradScaler("cuda")\n'),
    ("torch-device-cuda", "?", 'torch.device("cuda")\n'),
    ("is_initialized", "?", "torch.cuda.is_initialized()\n"),
    ("jax-zeros", "?", "import jax.numpy as jnp\njnp.zeros(3)\n"),
    ("jax-array", "?", "import jax.numpy as jnp\njnp.array([1.0])\n"),
    ("jax-float32", "?", "import jax.numpy as jnp\njnp.float32(1.0)\n"),
    ("jax-finfo", "?", "import jax.numpy as jnp\njnp.finfo(jnp.float32)\n"),
    ("jax-prngkey", "?", "import jax\njax.random.PRNGKey(0)\n"),
    ("jax-device_count", "?", "import jax\njax.device_count()\n"),
    ("jax-local_devices", "?", "import jax\njax.local_devices()\n"),
    ("jax-default_backend", "?", "import jax\njax.default_backend()\n"),
    ("jax-jit-decorator", "?", "import jax\n@jax.jit\ndef f(x):\n    return x + 1\n"),
    ("cupy-zeros", "?", "import cupy\ncupy.zeros(3)\n"),
    ("cupy-device-capability", "?", "import cupy\ncupy.cuda.Device(0).compute_capability\n"),
    ("cupy-is_available", "?", "import cupy\ncupy.cuda.is_available()\n"),
    ("cupy-runtimeGetVersion", "?", "import cupy\ncupy.cuda.runtime.runtimeGetVersion()\n"),
    ("numba-jit-decorator", "?", "from numba import cuda\n@cuda.jit\ndef k(x):\n    pass\n"),
    ("numba-gpus", "?", "from numba import cuda\nlen(cuda.gpus)\n"),
    ("numba-get_current_device", "?", "from numba import cuda\ncuda.get_current_device()\n"),
    ("cudart-getDeviceCount", "?", "from cuda.bindings import runtime\nruntime.cudaGetDeviceCount()\n"),
    ("transformers-bf16-gpu", "?", "from transformers.utils import is_torch_bf16_gpu_available\nis_torch_bf16_gpu_available()\n"),
    ("transformers-tf32", "?", "from transformers.utils import is_torch_tf32_available\nis_torch_tf32_available()\n"),
]
ROWS += [
    ("jax-ones", "?", "import jax.numpy as jnp\njnp.ones(3)\n"),
    ("jax-asarray", "?", "import jax.numpy as jnp\njnp.asarray([1.0])\n"),
    ("jax-arange", "?", "import jax.numpy as jnp\njnp.arange(3)\n"),
    ("jax-full", "?", "import jax.numpy as jnp\njnp.full((2,), 1.0)\n"),
    ("jax-eye", "?", "import jax.numpy as jnp\njnp.eye(2)\n"),
    ("jax-linspace", "?", "import jax.numpy as jnp\njnp.linspace(0, 1, 3)\n"),
    ("jax-empty", "?", "import jax.numpy as jnp\njnp.empty(3)\n"),
    ("jax-int32", "?", "import jax.numpy as jnp\njnp.int32(1)\n"),
    ("jax-random-key", "?", "import jax\njax.random.key(0)\n"),
    ("jax-device_put", "?", "import jax\njax.device_put(1.0)\n"),
    ("jax-dtype-obj", "?", "import jax.numpy as jnp\njnp.dtype('float32')\n"),
    ("cupy-array", "?", "import cupy\ncupy.array([1.0])\n"),
    ("cupy-asarray", "?", "import cupy\ncupy.asarray([1.0])\n"),
    ("cupy-ones", "?", "import cupy\ncupy.ones(3)\n"),
    ("cupy-arange", "?", "import cupy\ncupy.arange(3)\n"),
    ("cupy-empty", "?", "import cupy\ncupy.empty(3)\n"),
    ("cupy-device", "?", "import cupy\ncupy.cuda.Device(0)\n"),
    ("cupy-getDeviceProperties", "?", "import cupy\ncupy.cuda.runtime.getDeviceProperties(0)\n"),
    ("cudart-setDevice", "?", "from cuda.bindings import runtime\nruntime.cudaSetDevice(0)\n"),
    ("cudart-getDevice", "?", "from cuda.bindings import runtime\nruntime.cudaGetDevice()\n"),
    ("cudart-runtimeGetVersion", "?", "from cuda.bindings import runtime\nruntime.cudaRuntimeGetVersion()\n"),
    ("cudart-driverGetVersion", "?", "from cuda.bindings import runtime\nruntime.cudaDriverGetVersion()\n"),
    ("cudart-getDeviceProperties", "?", "from cuda.bindings import runtime\nruntime.cudaGetDeviceProperties(0)\n"),
    ("cuda-device-construct", "?", "torch.cuda.device(0)\n"),
    ("transformers-cuda-available", "?", "from transformers.utils import is_torch_cuda_available\nis_torch_cuda_available()\n"),
    ("transformers-fa2-available", "?", "from transformers.utils import is_flash_attn_2_available\nis_flash_attn_2_available()\n"),
    ("transformers-bf16-top", "?", "import transformers\ntransformers.is_torch_bf16_gpu_available()\n"),
]
THIRD_BATCH = ROWS[ROWS.index(next(r for r in ROWS if r[0] == "jax-ones")):]
SECOND_BATCH = ROWS[ROWS.index(next(r for r in ROWS if r[0] == "cuda-device-context")):ROWS.index(THIRD_BATCH[0])]

CHILD = r'''
import ctypes, json, os, sys, traceback
HERE = "<string>"  # this script, run with -c; the row's own code is "<row>"

def get_count():
    try:
        lib = ctypes.CDLL("libcuda.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return None
    count = ctypes.c_int(0)
    return lib.cuDeviceGetCount(ctypes.byref(count))

def initialized():
    return get_count() == 0

import torch
base = os.path.dirname(os.path.dirname(torch.__file__))
found = {}

def frames(frame):
    out = []
    while frame is not None:
        path = frame.f_code.co_filename
        if "<frozen" not in path and path != HERE and not path.endswith("measure_summaries.py"):
            shown = os.path.relpath(path, base) if path.startswith(base + os.sep) else path
            out.append("%s:%d %s" % (shown, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    return out[::-1][-12:]

def wrap(owner, name, label):
    original = getattr(owner, name, None)
    if not callable(original) or isinstance(original, type):
        return
    def wrapper(*args, **kwargs):
        if found or initialized():
            return original(*args, **kwargs)
        try:
            return original(*args, **kwargs)
        finally:
            if not found and initialized():
                found["call"] = label
                found["frames"] = frames(sys._getframe(1))
    setattr(owner, name, wrapper)

for name in ("_lazy_init", "is_available", "current_device", "get_device_capability",
             "get_device_properties", "get_arch_list", "is_bf16_supported", "get_rng_state", "init"):
    wrap(torch.cuda, name, "torch.cuda." + name)
if getattr(torch, "_C", None) is not None:
    wrap(torch._C, "_cuda_getDeviceCount", "torch._C._cuda_getDeviceCount")

error = None
try:
    exec(compile(sys.argv[1], "<row>", "exec"), {"__name__": "measured_row", "torch": torch})
except BaseException as caught:
    error = "%s: %s" % (type(caught).__name__, str(caught)[:300])
code_after = get_count()
read_end, write_end = os.pipe()
pid = os.fork()
if pid == 0:
    try:
        lib = ctypes.CDLL("libcuda.so.1")
        os.write(write_end, str(lib.cuInit(0)).encode())
    finally:
        os._exit(0)
os.close(write_end)
answer = os.read(read_end, 32).decode() or "none"
os.waitpid(pid, 0)
maps = open("/proc/self/maps").read()
print(json.dumps({"initialized": code_after == 0, "cuDeviceGetCount": code_after,
                  "libcuda_mapped": "libcuda.so" in maps, "cuinit_in_forked_child": answer,
                  "via": found or None, "error": error}))
'''


def run_row(row):
    ident, claim, code = row
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, code], capture_output=True, text=True, timeout=300)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        result = json.loads(lines[-1]) if lines else {"error": "no result: " + done.stderr[-500:]}
    except subprocess.TimeoutExpired:
        result = {"error": "timed out after 300 s"}
    result.update(id=ident, claim=claim, code=code, seconds=round(time.monotonic() - start, 1))
    return result


def environment():
    import torch  # versions only; this process never touches the GPU

    version = getattr(torch, "version", None)
    found = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "python": platform.python_version(),
             "torch": getattr(torch, "__version__", None), "torch_cuda": getattr(version, "cuda", None),
             "nvcc": shutil.which("nvcc"), "CUDA_HOME": os.environ.get("CUDA_HOME"),
             "usr_local_cuda": os.path.isdir("/usr/local/cuda")}
    try:
        import triton

        found["triton"] = triton.__version__
    except ImportError:
        found["triton"] = None
    try:
        found["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                      capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        found["gpu"] = None
    return found


PROBE_CASE = {
    "pkg/__init__.py": "from pkg.kernels import cuda_ops\n",
    "pkg/kernels/__init__.py": "",
    "pkg/kernels/cuda_ops.py": '"""Kernels built with torch.utils.cpp_extension."""\nimport torch.utils.cpp_extension\n',
}


def probe_case(out):
    """`importguard probe pkg` on a package whose kernel module imports cpp_extension."""
    with tempfile.TemporaryDirectory() as root:
        for path, text in PROBE_CASE.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as handle:
                handle.write(text)
        done = subprocess.run([sys.executable, "-m", "importguard", "probe", "pkg"], cwd=root,
                              capture_output=True, text=True, timeout=300)
    with open(out, "w") as handle:
        handle.write(done.stdout + done.stderr)
    print(done.stdout + done.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--row", action="append", default=[])
    parser.add_argument("--second-batch", action="store_true", help="only the rows added in the second batch")
    parser.add_argument("--third-batch", action="store_true", help="only the rows added in the third batch")
    parser.add_argument("--probe-case")
    args = parser.parse_args()
    if args.probe_case:
        probe_case(args.probe_case)
        return
    rows = SECOND_BATCH if args.second_batch else THIRD_BATCH if args.third_batch else ROWS
    rows = [row for row in rows if not args.row or row[0] in args.row]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run_row, rows))
    document = {"environment": environment(), "rows": results}
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(document, handle, indent=1)
    print(json.dumps(document["environment"]))
    for r in results:
        via = (r.get("via") or {}).get("frames", [])
        print("%-30s claim=%-11s init=%-5s fork=%-4s %6.1fs %s %s" % (
            r["id"], r["claim"], r.get("initialized"), r.get("cuinit_in_forked_child"), r["seconds"],
            (r.get("via") or {}).get("call", ""), (r.get("error") or "")[:80]))
        for frame in via[-4:]:
            print("      " + frame)


if __name__ == "__main__":
    main()
