#!/usr/bin/env bash
# The GPU check: everything a machine with an NVIDIA GPU runs to check torchlite there, in one
# go and well under 5 minutes:
#   1. the environment: nvidia-smi, Python, CuPy and the device torchlite sees;
#   2. carried wheels, if a folder of them is given (for a machine without network: pydantic,
#      pydantic-core, annotated-types and typing-inspection are what such images usually lack);
#   3. `pytest -m gpu`: every test that runs on the device "cuda", and tests/cuda_kernels;
#   4. `torchlite bench --device cuda` on the mlp, lenet5 and optim suites (JSON);
#   5. end to end in a temporary folder: train configs/digits_mlp.yaml on cuda, eval and infer
#      on cuda, and the checkpoint written there evaluated and run on the CPU (same results).
#
# Usage:  scripts/gpu_check.sh [WHEELS_DIR]        (or WHEELS=dir scripts/gpu_check.sh)
# Output: gpu_check.log, pytest.log, bench.json and e2e.log in $OUT when it is set, else in
#         ./gpu_check_out; the exit status is 0 only when every step passed.
# GPU_CHECK_DEVICE=cpu runs steps 4 and 5 on the CPU (to try the script on a machine without a
# GPU; step 3 then skips its tests).
#
# Making the wheels on a machine with network (Python 3.12, x86-64 Linux), for example:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl pydantic pydantic-core annotated-types typing-inspection
# (versions that go together: pydantic pins its pydantic-core exactly).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$ROOT/scripts/$(basename "${BASH_SOURCE[0]}")
PY=${PYTHON:-python3}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
export ROOT PY DEVICE PYTHONUNBUFFERED=1

if [ "${1:-}" = "--e2e" ]; then  # step 5, run by this script under a time limit
    set -e
    cd "$2"
    torchlite train "$ROOT/configs/digits_mlp.yaml" --device "$DEVICE" --epochs 3 --plain \
        --name gpu_e2e
    torchlite eval runs/gpu_e2e --device "$DEVICE" --json >eval_dev.json
    torchlite eval runs/gpu_e2e --device cpu --json >eval_cpu.json  # written on GPU, read on CPU
    "$PY" -c "import numpy as np, torchlite.datasets as d; np.save('x.npy', d.digits().inputs[:8])"
    torchlite infer x.npy --checkpoint runs/gpu_e2e --device "$DEVICE" --output preds_dev.csv
    torchlite infer x.npy --checkpoint runs/gpu_e2e --device cpu --output preds_cpu.csv
    "$PY" - <<'EOF'
import json

import torchlite

a, b = json.load(open("eval_dev.json")), json.load(open("eval_cpu.json"))
print(f"eval: accuracy {a['accuracy']:.4f} on the device, {b['accuracy']:.4f} on the cpu; "
      f"loss {a['loss']:.6f} / {b['loss']:.6f}")
assert abs(a["accuracy"] - b["accuracy"]) <= 1.0 / a["samples"] + 1e-12, "accuracy differs"
assert abs(a["loss"] - b["loss"]) <= 1e-4 * max(1.0, abs(b["loss"])), "loss differs"
dev = open("preds_dev.csv").read().splitlines()
cpu = open("preds_cpu.csv").read().splitlines()
same = sum(x.split(",")[:2] == y.split(",")[:2] for x, y in zip(dev, cpu))
print(f"infer: {same}/{len(cpu)} rows name the same class on the device and the cpu")
assert same == len(cpu) == len(dev), "predictions differ between devices"
state = torchlite.load("runs/gpu_e2e/weights/last.safetensors")
assert all(t.device.type == "cpu" for t in state.values())
print(f"the checkpoint loads on the CPU: {len(state)} tensors")
EOF
    exit 0
fi

OUT_DIR=${OUT:-$ROOT/gpu_check_out}
WHEELS=${1:-${WHEELS:-}}
mkdir -p "$OUT_DIR"
: >"$OUT_DIR/gpu_check.log"
exec > >(tee -a "$OUT_DIR/gpu_check.log") 2>&1

failed=()
start=$SECONDS

run_step() {  # run_step NAME LIMIT_S LOG CMD...: CMD under a time limit, output into LOG
    local name=$1 limit=$2 log=$3 t0=$SECONDS rc
    shift 3
    echo
    echo "== $name (limit ${limit}s, output in $(basename "$log"))"
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    tail -n 30 "$log"
    echo "-- $name: exit $rc after $((SECONDS - t0))s"
    if [ "$rc" -ne 0 ]; then failed+=("$name (exit $rc)"); fi
}

echo "== environment ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv \
    || echo "nvidia-smi: not available"
"$PY" --version

if [ -n "$WHEELS" ]; then
    echo
    echo "== carried wheels from $WHEELS"
    if compgen -G "$WHEELS/*.whl" >/dev/null; then
        if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
                --target /tmp/torchlite_site "$WHEELS"/*.whl; then
            export PYTHONPATH=/tmp/torchlite_site${PYTHONPATH:+:$PYTHONPATH}
            ls "$WHEELS"
        else
            failed+=("wheels")
        fi
    else
        echo "no .whl files in $WHEELS"
        failed+=("wheels (none found)")
    fi
fi

echo
echo "== torchlite"
# the `torchlite` command of this tree: already installed, or an editable install now, or else
# a shim that runs the CLI from the tree
installed=$("$PY" -c "import torchlite, os; print(os.path.dirname(os.path.dirname(
    os.path.abspath(torchlite.__file__))))" 2>/dev/null)
if [ "$installed" = "$ROOT" ] && command -v torchlite >/dev/null; then
    echo "torchlite is installed from $ROOT"
elif ! "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e "$ROOT" \
        >/dev/null 2>&1 || ! command -v torchlite >/dev/null; then
    echo "(no editable install: running the CLI from $ROOT)"
    mkdir -p /tmp/torchlite_bin
    cat >/tmp/torchlite_bin/torchlite <<EOF
#!/bin/sh
PYTHONPATH="$ROOT\${PYTHONPATH:+:\$PYTHONPATH}" exec "$PY" -c \
    'import sys; sys.argv[0] = "torchlite"; from cli.main import app; app()' "\$@"
EOF
    chmod +x /tmp/torchlite_bin/torchlite
    export PATH=/tmp/torchlite_bin:$PATH
    export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
fi
"$PY" - <<'EOF' || failed+=("environment")
import importlib

for name in ("numpy", "pydantic", "typer", "rich", "yaml", "safetensors"):
    try:
        mod = importlib.import_module(name)
    except ImportError as exc:
        raise SystemExit(f"MISSING {name}: {exc} (carry it as a wheel: see this script's header)")
    print(f"{name} {getattr(mod, '__version__', '?')}")
import torchlite

print(f"torchlite {torchlite.__version__}: cuda available {torchlite.cuda.is_available()}, "
      f"{torchlite.cuda.device_count()} device(s)")
cp = torchlite.backend.cupy_module()
rt = cp.cuda.runtime
print(f"cupy {cp.__version__}, CUDA runtime {rt.runtimeGetVersion()}, driver "
      f"{rt.driverGetVersion()}, {torchlite.cuda.get_device_name()}")
x = torchlite.ones((1024, 1024), device="cuda")
print(f"memory: allocated {torchlite.cuda.memory_allocated()}, peak "
      f"{torchlite.cuda.max_memory_allocated()}, reserved {torchlite.cuda.memory_reserved()}")
EOF

cd "$ROOT" || exit 1
# CuPy compiles each kernel on its first use (NVRTC, on the CPU): spread that over workers
workers=()
if "$PY" -c "import xdist" 2>/dev/null; then workers=(-n 4); fi
run_step "pytest -m gpu" 180 "$OUT_DIR/pytest.log" \
    "$PY" -m pytest -m gpu -q -x -p no:cacheprovider -rs "${workers[@]}"

echo
echo "== bench (limit 75s, JSON in bench.json)"
timeout --kill-after=10 75 torchlite bench --device "$DEVICE" --suite mlp --suite lenet5 \
    --suite optim --json >"$OUT_DIR/bench.json"
rc=$?
head -c 4000 "$OUT_DIR/bench.json"
echo
echo "-- bench: exit $rc"
if [ "$rc" -ne 0 ]; then failed+=("bench (exit $rc)"); fi

WORK=$(mktemp -d /tmp/torchlite_gpu_check.XXXXXX)
run_step "train, eval, infer on $DEVICE" 45 "$OUT_DIR/e2e.log" bash "$SELF" --e2e "$WORK"
rm -rf "$WORK"

echo
echo "== done in $((SECONDS - start))s"
if [ ${#failed[@]} -eq 0 ]; then
    echo "GPU check passed"
    exit 0
fi
printf 'FAILED: %s\n' "${failed[@]}"
exit 1
