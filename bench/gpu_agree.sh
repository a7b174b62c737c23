#!/usr/bin/env bash
# The GPU runs of docs/runtime-agreement.md ("2026-12-06: issue 28's shapes and cpp_extension
# packages"): `importguard agree` with the machine's real torch, triton and driver.
#
#   bash bench/gpu_agree.sh PAYLOAD OUT oracle     # fixtures/oracle (no stubs), the probe's GPU tests
#   bash bench/gpu_agree.sh PAYLOAD OUT packages   # flashinfer 0.7.2.post1, sglang's cpp_radix_tree
#   bash bench/gpu_agree.sh PAYLOAD OUT sglang     # the same module inside sglang (PAYLOAD/whl-sgl: the
#                                                  # dependencies sglang's __init__ imports); `import tvm_ffi`
#
# Run from the repository root. PAYLOAD holds whl/*.whl (libcst, click, pytest and its
# needs, and the packages' missing dependencies; sglang's wheel) and flashinfer's wheel
# unpacked without flashinfer/data (flashinfer-*.tar.xz); OUT receives the reports.
set -u
payload=$1 out=$2 phase=$3
site=/tmp/ig-site
export PYTHONUNBUFFERED=1
unset PYTORCH_NVML_BASED_CUDA_CHECK
if [ ! -f "$site/.installed" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
        "$payload"/whl/*.whl || exit 2
    tar -xJf "$payload"/flashinfer-*.tar.xz -C "$site" || exit 2
    touch "$site/.installed"
fi
export PYTHONPATH="$site:$PWD"  # importguard from this checkout
ig() { python3 -m importguard "$@"; }

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python3 -c 'import sys, torch, triton; print(sys.version.split()[0], sys.executable, "torch", torch.__version__, "cuda", torch.version.cuda, "triton", triton.__version__)'
    python3 -c 'import libcst, importlib.metadata as m; print("libcst", m.version("libcst"), "flashinfer", m.version("flashinfer-python"), "tvm-ffi", m.version("apache-tvm-ffi"), "sglang", m.version("sglang"))'
    command -v nvcc && nvcc --version | tail -2
    command -v g++ c++ ninja; ninja --version; nproc
    echo "CUDA_HOME=${CUDA_HOME:-unset}"; ls -d /usr/local/cuda
} > "$out/env-$phase.txt" 2>&1

agree() {  # NAME ARGS...: one agreement report, JSON to OUT/NAME.json, the summary line to the log
    local name=$1
    shift
    local start=$SECONDS
    ig agree "$@" --no-cache --jobs 16 --timeout 300 --format json > "$out/$name.json" 2> "$out/$name.err"
    echo "== $name (exit $?, $((SECONDS - start)) s): $(tail -1 "$out/$name.err")"
}

case "$phase" in
oracle)
    agree oracle-default oracle --src fixtures --config bench/agree/default/pyproject.toml
    agree oracle-follow oracle --src fixtures --config bench/agree/follow/pyproject.toml
    cat "$out"/oracle-*.err > "$out/oracle-stderr.txt" && rm -f "$out"/oracle-*.err
    {
        echo "== pytest tests/test_probe_gpu.py tests/test_probe_driver_call.py"
        python3 -m pytest -q -p no:cacheprovider tests/test_probe_gpu.py tests/test_probe_driver_call.py 2>&1 | tail -15
        echo "== bench/measure_summaries.py --probe-case (a package whose kernel module imports cpp_extension)"
        python3 bench/measure_summaries.py --probe-case /tmp/probe-case.txt > /dev/null 2>&1
        cat /tmp/probe-case.txt
        echo "== importguard probe oracle.jit.import_only oracle.compiled.decorator oracle.instances.factory --src fixtures"
        ig probe oracle.jit.import_only oracle.compiled.decorator oracle.instances.factory --src fixtures --timeout 300 2>&1
    } > "$out/probe.txt" 2>&1
    ;;
packages)
    agree flashinfer-jit flashinfer.jit --config bench/agree/default/pyproject.toml
    agree flashinfer-shard flashinfer --shard 1/32 --config bench/agree/default/pyproject.toml
    agree sglang-radix sglang.srt.mem_cache.cpp_radix_tree --config bench/agree/default/pyproject.toml
    # The same module outside sglang (its package __init__ needs sglang's whole dependency set):
    mkdir -p /tmp/sgl-alone && cp -r "$site/sglang/srt/mem_cache/cpp_radix_tree" /tmp/sgl-alone/
    agree radix-alone cpp_radix_tree --src /tmp/sgl-alone --config bench/agree/default/pyproject.toml
    cat "$out"/*.err > "$out/packages-stderr.txt" && rm -f "$out"/*.err
    ;;
sglang)
    python3 bench/measure_tvm_ffi.py --out "$out/tvm-ffi.json" > "$out/tvm-ffi.txt" 2>&1
    if [ ! -f /tmp/ig-sgl/.installed ]; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/ig-sgl \
            "$payload"/whl-sgl/*.whl && touch /tmp/ig-sgl/.installed
    fi
    PYTHONPATH="$PYTHONPATH:/tmp/ig-sgl" agree sglang-radix sglang.srt.mem_cache.cpp_radix_tree \
        --config bench/agree/default/pyproject.toml
    cat "$out"/*.err > "$out/sglang-stderr.txt" && rm -f "$out"/*.err
    ;;
esac
