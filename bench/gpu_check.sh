#!/usr/bin/env bash
# The GPU check (issue 29), one command: `make test-gpu` runs it in the course's venv; on a bare lent GPU
# machine with no network it runs as it is, with the wheels of bench/device_wheels.sh carried in .whl:
#
#   bash bench/gpu_check.sh                       # on CUDA: the check; the summary and logs into $OUT
#   DEVICE=cpu GPU_SCALE=smoke bash bench/gpu_check.sh   # a rehearsal of the same steps on a CPU
#
# 1. bench/bench_gpu.py, the course's step and loop (eager, and on CUDA as a CUDA graph) against a
#    nanoGPT-layout reference (record its bench_gpu.json as bench/results/gpu_<device>.json); 2. the
#    GPU-relevant unit tests (device, MFU peak, training, the CUDA graph, model, sampler, sizing), training
#    forced onto DEVICE; 3. lessons 02 and 05 at GPU_SCALE (default full), headless, into build/course/gpu
#    (fails on an error or a failed must-hold verdict). Every step
#    runs even if one before it failed; the exit status is the first failure's. What came out goes into
#    $OUT (default build/gpu_check): eight files, what a lent machine sends back at most.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
SCALE=${GPU_SCALE:-full}
STEPS=${GPU_BENCH_STEPS:-50}
out=${OUT:-build/gpu_check}
mkdir -p "$out"

wheels=${WHEELS-.whl}     # make test-gpu sets WHEELS= (its venv has everything)
if [ -n "$wheels" ] && compgen -G "$wheels/*.whl" >/dev/null; then   # a bare machine: the carried wheels, beside its own
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu_check_site \
        "$wheels"/*.whl || { echo "gpu_check: installing the carried wheels in $wheels failed (see above)" >&2; exit 1; }
    export PYTHONPATH=/tmp/gpu_check_site:$PWD/utils${PYTHONPATH:+:$PYTHONPATH}
    export JUPYTER_PATH=/tmp/gpu_check_site/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}   # nbconvert's templates
else
    export PYTHONPATH=$PWD/utils${PYTHONPATH:+:$PYTHONPATH}
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 LOOPLAB_SIGNOFF=auto

if [ "$DEVICE" = cuda ]; then
    "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'gpu_check: torch ' + torch.__version__ + ' sees no CUDA device on this machine; make test runs the CPU suite (DEVICE=cpu GPU_SCALE=smoke rehearses this check)')" || exit 1
fi
"$PY" - <<'EOF' | tee "$out/summary.txt"
import platform, torch
print(f"python {platform.python_version()}, torch {torch.__version__}, cuda {torch.version.cuda}",
      f"- {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "- no CUDA device")
EOF

status=0
step() {   # step NAME COMMAND...: run it, log it into $out/NAME.log, keep the first failure's status
    local name=$1; shift
    local t0=$SECONDS
    echo "== gpu_check: $name"
    "$@" 2>&1 | tee "$out/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "== gpu_check: $name exit $rc, $((SECONDS - t0)) s" | tee -a "$out/summary.txt"
    [ "$status" -ne 0 ] || status=$rc
}

# the benchmark first, the lessons (the longest step) last: a lent machine's command may be cut off at its
# time limit, and what is already in $OUT still comes back
if [ "$DEVICE" = cuda ]; then bench=(--steps "$STEPS"); else bench=(--device cpu --scale "$SCALE" --batches 4 --steps 3 --rounds 1); fi
step bench "$PY" bench/bench_gpu.py "${bench[@]}" --out "$out/bench_gpu.json" --profile "$out/profile.txt"
step unit env LOOPLAB_DEVICE="$DEVICE" "$PY" -m pytest -q -p no:cacheprovider tests/test_device.py tests/test_hardware.py \
    tests/test_train.py tests/test_model.py tests/test_sample.py tests/test_sizing.py
step lessons env LOOPLAB_DEVICE="$DEVICE" "$PY" -m looplab.course --scale "$SCALE" --only 02 05 --out build/course/gpu
cp build/course/gpu/summary.csv build/course/gpu/headlines.md "$out/" 2>/dev/null
echo "gpu_check: exit $status; in $out: summary.txt (machine, each step's exit and seconds), the steps' logs,
the lessons' summary.csv and headlines.md, bench_gpu.json, profile.txt (where each step's time goes)" | tee -a "$out/summary.txt"
exit "$status"
