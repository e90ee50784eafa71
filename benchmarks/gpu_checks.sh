#!/usr/bin/env bash
# Every GPU check of the workbench in one command, for a GPU machine that has PyTorch and
# Lightning but perhaps no package index:
#   1. installs wheels found in .whl/ (see benchmarks/gpu_wheels.sh) and the workbench itself
#      (editable, no dependencies, offline);
#   2. runs the gpu-marked tests (flash attention kernel, a bf16 + compile run through the CLI);
#   3. runs benchmarks/gpu_pretrain.py (GPT-2-small MFU, Shakespeare time to val loss 1.47),
#      which reads .data/tinyshakespeare.txt.
# Logs go to $OUT (default bench-out/). Usage: bash benchmarks/gpu_checks.sh [--quick]
# (--quick: tiny benchmark shapes, to check the script on a machine without a GPU).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
quick=()
if [ "${1:-}" = "--quick" ]; then quick=(--quick --device cpu --precision 32-true --no-compile); fi

if ! "$PY" -c "import pydantic, sqlalchemy, alembic" 2> /dev/null && compgen -G ".whl/*.whl" > /dev/null
then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/wb-site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/wb-site${PYTHONPATH:+:$PYTHONPATH}
fi
if ! "$PY" -c "import workbench_gpt" 2> /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  "$PY" -c "import torch, pytorch_lightning as pl; print('torch', torch.__version__, 'lightning', pl.__version__, 'cuda', torch.cuda.is_available())"
} | tee "$OUT/device.txt"

status=0
"$PY" -m pytest -m gpu tests/test_gpu.py -q -p no:cacheprovider 2>&1 | tee "$OUT/pytest_gpu.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
"$PY" benchmarks/gpu_pretrain.py --data .data/tinyshakespeare.txt --out "$OUT/gpu_pretrain.json" \
    "${quick[@]}" 2>&1 | tee "$OUT/gpu_pretrain.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exit $status
