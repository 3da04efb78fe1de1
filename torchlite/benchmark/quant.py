"""Suite `quant`: inference of a dynamically quantized 784-512-256-10 MLP, batch 128.

Rows: the int8 model (`quantize_dynamic`, int8 weights, activations quantized per batch) and the
same float32 model. The floor is the float32 forward in hand-written NumPy, so the int8 row's
torchlite/floor ratio is the int8 model's time over float32's (target <= 1.0); the torch
column is PyTorch's own quantize_dynamic model (target torchlite/torch <= 1.5). Before timing,
each framework checks that its outputs stay within quantization error of the float32 ones.
The int8 row names the kernel that runs torchlite's integer products on the CPU (onnxruntime's
MatMulInteger when it is installed, else float32 BLAS; TORCHLITE_INT8_KERNEL=numpy forces the
latter), and the worker refuses to time a row whose kernel differs from its name.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ..ao.quantization import int8_matmul
from ._common import SEED, BenchmarkError, Env, RowSpec
from .mlp import NAMES, data, make

REPEAT, WARMUP, BLOCK, SETTLE = 40, 5, 10, 0.15
PASSES = 4  # int8 compared with the float32 row: measured in turns (see _runner)
SIZES = (784, 512, 256, 10)
QUICK_SIZES = (64, 32, 16, 10)
BATCH = 128
TOLERANCE = 0.1  # on the logits: int8 rounding moves them by a few hundredths here


def cpu_int8_kernel() -> str:
    """The name of the kernel torchlite's int8 products will use on the CPU, found without
    importing onnxruntime (the parent process times nothing)."""
    if int8_matmul.get_int8_kernel() == "numpy" or importlib.util.find_spec("onnxruntime") is None:
        return "float32 BLAS"
    return "onnxruntime MatMulInteger"


def rows(quick: bool = False) -> list[RowSpec]:
    sizes = QUICK_SIZES if quick else SIZES
    arch = "-".join(map(str, sizes))
    kernel = cpu_int8_kernel()
    out = []
    for kind, what in (("int8", "dynamically quantized (int8 weights, quint8 activations per "
                                f"batch; int8 products on {kernel} on the CPU, float32 cuBLAS "
                                "on a GPU)"), ("float32", "float32")):
        desc = f"inference of an MLP {arch}, batch {BATCH}, {what}; floor: float32 NumPy"
        params = {"sizes": list(sizes), "batch": BATCH, "kind": kind, "seed": SEED}
        if kind == "int8":
            params["int8_kernel"] = kernel
        out.append(RowSpec("quant", f"{kind} b{BATCH}", desc, params, samples=BATCH))
    return out


def _reference(x, weights) -> np.ndarray:
    h = x
    for i in range(3):
        h = h @ weights[f"{2 * i}.weight"].T + weights[f"{2 * i}.bias"]
        if i < 2:
            h = np.maximum(h, 0)
    return h


class Forward:
    """One forward pass of the model (no autograd) in torchlite, PyTorch or the floor."""

    def __init__(self, env: Env, params: dict) -> None:
        x, _, weights = data(params)
        self.env, self.ref = env, _reference(x, weights)
        self.x = env.put(x)
        if env.lib is None:
            self.ps = [env.put(weights[k]) for k in NAMES]
            return
        lib = env.lib
        model = make(lib.nn, params["sizes"])
        model.load_state_dict({k: lib.from_numpy(v) for k, v in weights.items()})
        model.eval()
        if params["kind"] == "int8":
            model = lib.ao.quantization.quantize_dynamic(model, {lib.nn.Linear},
                                                         dtype=lib.qint8)
            if env.framework != "torch" and env.device == "cpu":
                ran = int8_matmul.kernel_name(np)
                if ran != params["int8_kernel"]:
                    raise BenchmarkError(f"quant/int8: the row names {params['int8_kernel']} "
                                         f"but this worker's int8 products run on {ran}")
        self.model = model.to(env.device)
        self.no_grad = lib.no_grad

    def step(self):
        if self.env.lib is None:
            xp = self.env.xp
            w1, b1, w2, b2, w3, b3 = self.ps
            h = self.x @ w1.T
            h += b1
            xp.maximum(h, 0, out=h)
            h2 = h @ w2.T
            h2 += b2
            xp.maximum(h2, 0, out=h2)
            z = h2 @ w3.T
            z += b3
            return z
        with self.no_grad():
            return self.model(self.x)

    def check(self) -> dict[str, float]:
        out = self.env.get(self.step())
        err = float(np.abs(out - self.ref).max())
        return {"outputs": float(out.size), "within quantization error": float(err < TOLERANCE)}


def build(env: Env, params: dict):
    if env.framework == "torch" and (env.device != "cpu" and params["kind"] == "int8"):
        return None  # PyTorch's quantized kernels are CPU only
    return Forward(env, params)
