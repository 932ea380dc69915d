#!/usr/bin/env bash
# The one command for a GPU machine with no network: GPU tests, then GPU benchmarks, table last.
# Uses the machine's python3 (CuPy, PyTorch, pytest preinstalled) and installs nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" DUALFLOW_DEVICE=cuda PYTHONUNBUFFERED=1
out="${OUT:-bench/results}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
python3 -m pytest -m gpu -q -p no:cacheprovider tests/ 2>&1 | tee "$out/gpu_tests.log" | tail -n 40
tests_rc=${PIPESTATUS[0]}
# The main job on the GPU (its folder stays outside $OUT; the table and JSON are copied back).
run_dir=$(mktemp -d)
timeout 120 python3 -m dualflow compare --quiet --out "$run_dir" > "$out/compare_gpu.log" 2>&1
compare_rc=$?
cp "$run_dir/compare.json" "$out/compare_gpu.json" 2>/dev/null
tail -n 12 "$out/compare_gpu.log"
timeout 240 python3 bench/gpu_bench.py --out "$out"
bench_rc=$?
echo "gpu tests exit $tests_rc, compare exit $compare_rc, benchmarks exit $bench_rc"
exit $(( tests_rc != 0 || compare_rc != 0 || bench_rc != 0 ))
