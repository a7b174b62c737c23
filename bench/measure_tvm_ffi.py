"""What `import tvm_ffi` (apache-tvm-ffi) does to the driver, with torch installed: its
`_optional_torch_c_dlpack` module JIT-builds a torch extension at import and asks
`torch.cuda.is_available()` (docs/summaries.md, "apache-tvm-ffi"). Each row runs in a fresh
interpreter with bench/measure_summaries.py's method; the rows run one after another, the
first one on a machine without the built addon in ~/.cache/tvm-ffi.

    python bench/measure_tvm_ffi.py --out tvm-ffi.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure_summaries import environment, run_row  # noqa: E402  (one method, one place)

SET = 'import os\nos.environ["{}"] = "{}"\n'
ROWS = [
    ("tvm-ffi-first-import", "?", "import tvm_ffi\n"),  # builds the addon when it is not cached
    ("tvm-ffi-import", "initializes", "import tvm_ffi\n"),
    ("tvm-ffi-disabled", "?", SET.format("TVM_FFI_DISABLE_TORCH_C_DLPACK", "1") + "import tvm_ffi\n"),
    ("tvm-ffi-nvml-check", "?", SET.format("PYTORCH_NVML_BASED_CUDA_CHECK", "1") + "import tvm_ffi\n"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    args = parser.parse_args()
    results = [run_row(row) for row in ROWS]
    document = {"environment": environment(), "rows": results}
    try:
        from importlib.metadata import version

        document["environment"]["apache-tvm-ffi"] = version("apache-tvm-ffi")
    except Exception as error:  # noqa: BLE001  (reported, not fatal)
        document["environment"]["apache-tvm-ffi"] = f"unknown: {error}"
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(document, handle, indent=1)
    print(json.dumps(document["environment"]))
    for r in results:
        via = (r.get("via") or {})
        print("%-22s init=%-5s fork=%-4s %6.1fs %s %s" % (r["id"], r.get("initialized"), r.get("cuinit_in_forked_child"),
                                                         r["seconds"], via.get("call", ""), (r.get("error") or "")[:120]))
        for frame in via.get("frames", [])[-6:]:
            print("      " + frame)


if __name__ == "__main__":
    main()
