"""Measure which torch calls initialize the CUDA driver, with the method of
shared/cuda-evidence.md: each row runs in a fresh interpreter (subprocess, never a
fork of this one); after the row's code, /proc/self/maps says whether libcuda is
mapped; if it is, `cuDeviceGetCount` through the already-loaded library
(RTLD_NOLOAD) says whether cuInit was called (3 = CUDA_ERROR_NOT_INITIALIZED); then a
forked child loads libcuda.so.1 and calls cuInit(0) (0 fine, 3 broken).

    python3 bench/cuda_calls_evidence.py [--json OUT.json]

Needs a machine with an NVIDIA GPU and torch. Prints one table row per case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

CHECK = r'''
import ctypes, json, os, sys
def _mapped():
    with open("/proc/self/maps") as handle:
        for line in handle:
            parts = line.split(None, 5)
            if len(parts) == 6 and os.path.basename(parts[5].strip()).startswith("libcuda.so"):
                return parts[5].strip()
    return None
_path = _mapped()
_code = None
if _path:
    _lib = ctypes.CDLL(_path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    _n = ctypes.c_int(0)
    _code = _lib.cuDeviceGetCount(ctypes.byref(_n))
_r, _w = os.pipe()
_pid = os.fork()
if _pid == 0:
    os.close(_r)
    try:
        _child = ctypes.CDLL("libcuda.so.1").cuInit(0)
    except OSError:
        _child = -1
    os.write(_w, str(_child).encode())
    os._exit(0)
os.close(_w)
_child = int(os.read(_r, 64) or b"-2")
os.waitpid(_pid, 0)
print("RESULT " + json.dumps({"mapped": bool(_path), "get_count": _code, "fork_cuinit": _child}))
'''

CASES: list[tuple[str, str, dict[str, str]]] = [
    ("nothing (import torch)", "import torch", {}),
    ("torch.cuda.is_initialized()", "import torch; torch.cuda.is_initialized()", {}),
    ("torch.cuda.device_count()", "import torch; torch.cuda.device_count()", {}),
    ('torch.device("cuda")', 'import torch; torch.device("cuda")', {}),
    ('torch.device("cuda:0")', 'import torch; torch.device("cuda:0")', {}),
    ("torch.cuda.is_available()", "import torch; torch.cuda.is_available()", {}),
    ("torch.cuda.is_available() with PYTORCH_NVML_BASED_CUDA_CHECK=1",
     "import torch; torch.cuda.is_available()", {"PYTORCH_NVML_BASED_CUDA_CHECK": "1"}),
    ("torch.cuda.get_device_properties(0)", "import torch; torch.cuda.get_device_properties(0)", {}),
    ("torch.cuda.get_device_properties()", "import torch; torch.cuda.get_device_properties()", {}),
    ("torch.cuda.set_device(0)", "import torch; torch.cuda.set_device(0)", {}),
    ("torch.cuda.synchronize()", "import torch; torch.cuda.synchronize()", {}),
    ("torch.cuda.mem_get_info()", "import torch; torch.cuda.mem_get_info()", {}),
    ("torch.cuda.memory.mem_get_info()", "import torch; torch.cuda.memory.mem_get_info()", {}),
    ("torch.cuda.get_device_capability()", "import torch; torch.cuda.get_device_capability()", {}),
    ('torch.empty(1, device="cuda")', 'import torch; torch.empty(1, device="cuda")', {}),
    ('torch.empty(1, device="cpu")', 'import torch; torch.empty(1, device="cpu")', {}),
    ('torch.zeros(2, device=torch.device("cuda:0"))', 'import torch; torch.zeros(2, device=torch.device("cuda:0"))', {}),
    ('torch.ones(2, device="cuda")', 'import torch; torch.ones(2, device="cuda")', {}),
    ('torch.full((2,), 1.0, device="cuda")', 'import torch; torch.full((2,), 1.0, device="cuda")', {}),
    ('torch.arange(3, device="cuda")', 'import torch; torch.arange(3, device="cuda")', {}),
    ('torch.rand(2, device="cuda")', 'import torch; torch.rand(2, device="cuda")', {}),
    ('torch.randn(2, device="cuda")', 'import torch; torch.randn(2, device="cuda")', {}),
    ('torch.tensor([1.0], device="cuda")', 'import torch; torch.tensor([1.0], device="cuda")', {}),
    ('torch.zeros(1).cuda()', 'import torch; torch.zeros(1).cuda()', {}),
    ('torch.zeros(1).to("cuda")', 'import torch; torch.zeros(1).to("cuda")', {}),
    ('torch.zeros(1).to(torch.device("cuda"))', 'import torch; torch.zeros(1).to(torch.device("cuda"))', {}),
    ('torch.zeros(1).to("cpu")', 'import torch; torch.zeros(1).to("cpu")', {}),
]

# Where torch defines each torch.cuda function, and which torch.cuda submodules
# re-export the same object: evidence for matching `torch.cuda.<sub>.name` by rule.
REEXPORTS = r'''
import json, pkgutil, importlib, torch, torch.cuda
names = ["is_available", "get_device_capability", "get_device_name", "current_device",
         "Stream", "mem_get_info", "get_device_properties", "set_device", "synchronize",
         "device_count", "is_initialized"]
found = {}
subs = []
for info in pkgutil.iter_modules(torch.cuda.__path__):
    try:
        subs.append((info.name, importlib.import_module("torch.cuda." + info.name)))
    except Exception:
        pass
for name in names:
    obj = getattr(torch.cuda, name)
    found[name] = {"defined_in": getattr(obj, "__module__", None),
                   "same_object_in": sorted("torch.cuda." + s for s, m in subs if getattr(m, name, None) is obj)}
print("RESULT " + json.dumps(found))
'''


def run_case(case: tuple[str, str, dict[str, str]]) -> dict:
    label, code, env_extra = case
    env = {k: v for k, v in os.environ.items() if k != "PYTORCH_NVML_BASED_CUDA_CHECK"}
    env.update(env_extra)
    done = subprocess.run([sys.executable, "-c", code + "\n" + CHECK], capture_output=True, text=True,
                          env=env, timeout=240)
    result = {"case": label, "code": code, "env": env_extra, "returncode": done.returncode}
    lines = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
    if lines:
        result.update(json.loads(lines[-1][7:]))
    else:
        result["stderr"] = done.stderr[-2000:]
    return result


def main() -> None:
    versions = subprocess.run(
        [sys.executable, "-c",
         "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.version.cuda)"],
        capture_output=True, text=True).stdout.strip()
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    print(f"python torch cuda: {versions}\ngpu, driver: {smi}")
    with ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(run_case, CASES))
    print("| code run | libcuda mapped | cuDeviceGetCount | driver initialized | forked child cuInit |")
    print("|---|---|---|---|---|")
    for row in rows:
        if "mapped" not in row:
            print(f"| `{row['case']}` | FAILED rc={row['returncode']}: {row.get('stderr','')[-300:]!r} | | | |")
            continue
        initialized = row["mapped"] and row["get_count"] == 0
        print(f"| `{row['case']}` | {'yes' if row['mapped'] else 'no'} | {row['get_count']} | "
              f"{'**yes**' if initialized else 'no'} | {row['fork_cuinit']} |")
    reexports = subprocess.run([sys.executable, "-c", REEXPORTS], capture_output=True, text=True)
    lines = [l for l in reexports.stdout.splitlines() if l.startswith("RESULT ")]
    found = json.loads(lines[-1][7:]) if lines else {"error": reexports.stderr[-2000:]}
    print("re-exports:", json.dumps(found, indent=1))
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], "w") as handle:
            json.dump({"versions": versions, "gpu": smi, "rows": rows, "reexports": found}, handle, indent=1)


if __name__ == "__main__":
    main()
