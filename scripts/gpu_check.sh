#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU (and possibly no network), install xpnet from this
# working tree, run the test suite on the cupy namespace (numpy beside it), then the GPU benchmark.
# Writes benchmarks/results/gpu-<gpu name>.{md,json,png}, gpu-<gpu name>-ops.{md,json} and
# gpu-tests-<gpu name>.txt
# (or under $OUT when set, as on the lent device machine).
#
#   scripts/fetch_gpu_wheels.sh      # once, on a machine with network: fills .whl/
#   scripts/gpu_check.sh [--quick]   # on the GPU machine
set -uo pipefail
cd "$(dirname "$0")/.."
quick=${1:-}
py=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
  $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/xpnet-site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/xpnet-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
gpu=$($py -c "import cupy; print(cupy.cuda.runtime.getDeviceProperties(0)['name'].decode().replace(' ', '-'))" 2>/dev/null) || {
  echo "gpu_check: CuPy cannot see a GPU: $($py -c "import xpnet; print(xpnet.available_backends()['cupy'])" 2>&1 | tail -1)"
  echo "gpu_check: nothing written (without a GPU the test suite checks the cupy path on its stand-in: python -m pytest -q)"
  exit 1; }
out=${OUT:-benchmarks/results}
mkdir -p "$out"
echo "== xpnet info"; $py -m xpnet.cli.main info
echo "== tests on cupy and numpy ($gpu)"
XPNET_CUPY_STANDIN=0 XPNET_TEST_BACKENDS=cupy,numpy $py -m pytest -q -p no:cacheprovider tests 2>&1 | tee "$out/gpu-tests-$gpu.txt"
tests=${PIPESTATUS[0]}
echo "== benchmark ($gpu)"
if [ "$quick" = "--quick" ]; then
  $py -m xpnet.cli.main bench --backend cupy --quick --out "$out" --name "gpu-$gpu"
else
  $py -m xpnet.cli.main bench --backend cupy --rounds 5 --out "$out" --name "gpu-$gpu"
fi
bench=$?
echo "== device operations per training step"
$py -m xpnet.cli.main bench --count-ops --out "$out" --name "gpu-$gpu-ops"
echo "tests exit $tests, bench exit $bench"
exit $(( tests || bench ))
