#!/usr/bin/env bash
# Download the pure-Python wheels a GPU machine without network lacks into .whl/ (git-ignored),
# to be carried with the working tree and installed by scripts/gpu_check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: -d .whl \
  "array-api-compat==$(python3 -c 'import array_api_compat as m; print(m.__version__)' 2>/dev/null || echo 1.16.0)" \
  array-api-strict mnist1d
ls -l .whl
