"""Measure whether importing nvidia-cutlass-dsl initializes the CUDA driver, with the
method of shared/cuda-evidence.md: each row runs in a fresh interpreter (subprocess,
never a fork of this one); after the row's code, /proc/self/maps says whether libcuda
is mapped; if it is, `cuDeviceGetCount` through the already-loaded library
(RTLD_NOLOAD) says whether cuInit was called (3 = CUDA_ERROR_NOT_INITIALIZED); then a
forked child loads libcuda.so.1 and calls cuInit(0) (0 fine, 3 broken).

    python3 bench/measure_cutlass.py [--site DIR] [--json OUT.json]

`--site DIR`: a directory the wheels were installed into with `pip install --target`
(which does not process the `.pth` file nvidia-cutlass-dsl ships): the rows run with
it added by `site.addsitedir`, so that `cutlass` is importable as in a real install.
Needs a machine with an NVIDIA GPU. Prints the versions, then one row per case.
Two controls frame the cutlass rows: nothing (must read not initialized) and
`torch.cuda.is_available()` (must read initialized), when torch is installed.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

from cuda_calls_evidence import CHECK  # the driver check of shared/cuda-evidence.md, one copy (bench/ is sys.path[0])

# The import block of a vLLM 0.33.0 cute-DSL module (vllm/cute_utils/_tcgen05.py).
VLLM_BLOCK = (
    "import cutlass\n"
    "from cutlass import Boolean, Float32, Int32, Uint32, Uint64, cute\n"
    "from cutlass._mlir import ir\n"
    "from cutlass.cutlass_dsl import dsl_user_op\n"
)
JIT_AT_MODULE_LEVEL = (
    "import cutlass\nimport cutlass.cute as cute\n"
    "@cute.jit\ndef kernel(x: cutlass.Int32):\n    pass\n"
)

CASES: list[tuple[str, str]] = [
    ("nothing", "pass"),
    ("import torch; torch.cuda.is_available()", "import torch; torch.cuda.is_available()"),
    ("import cutlass", "import cutlass"),
    ("import cutlass.cute", "import cutlass.cute"),
    ("import cutlass.torch", "import cutlass.torch"),
    ("the import block of vllm/cute_utils/_tcgen05.py", VLLM_BLOCK),
    ("@cute.jit function defined at module level", JIT_AT_MODULE_LEVEL),
]

DISTRIBUTIONS = (
    "nvidia-cutlass-dsl", "nvidia-cutlass-dsl-libs-base", "nvidia-cutlass-dsl-libs-core",
    "nvidia-cutlass-dsl-libs-cu12", "cuda-bindings", "cuda-pathfinder", "torch",
)


def prelude(site_dir: str) -> str:
    return f"import site; site.addsitedir({site_dir!r})\n" if site_dir else ""


def versions(site_dir: str) -> dict[str, str]:
    code = prelude(site_dir) + (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        f"for name in {DISTRIBUTIONS!r}:\n"
        "    try: out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: out[name] = ''\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-500:]}


def driver() -> str:
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=60)
        return done.stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"


def run_case(code: str, site_dir: str) -> dict:
    source = prelude(site_dir) + code + "\n" + CHECK
    try:
        done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 300 s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"error": (done.stderr or done.stdout)[-800:]}


def verdict(result: dict) -> str:
    if "error" in result:
        return "error: " + result["error"].strip().splitlines()[-1] if result["error"].strip() else "error"
    initialized = result["mapped"] and result["get_count"] == 0
    return "initialized" if initialized else "not initialized"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--site", default="")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    header = {"python": platform.python_version(), "gpu, driver": driver(), "versions": versions(args.site)}
    print(json.dumps(header, indent=1))
    rows = []
    for label, code in CASES:
        result = run_case(code, args.site)
        rows.append({"case": label, **result, "verdict": verdict(result)})
        print(f"| {label} | mapped={result.get('mapped')} | cuDeviceGetCount={result.get('get_count')} "
              f"| fork cuInit={result.get('fork_cuinit')} | {rows[-1]['verdict']} |", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({**header, "rows": rows}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
