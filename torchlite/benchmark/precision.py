"""Suite `precision`: a training step of the 784-512-256-10 MLP (batch 128, SGD with momentum)
in each of trainer.precision's modes.

Rows: 32, bf16-mixed, 16-mixed, bf16-true and 16-true. The floor is the float32 step in
hand-written NumPy (the mlp suite's), so a mode's torchlite/floor ratio over the 32 row's is the
mode's cost against float32 (issue target: mixed modes at most 1.5x on the CPU); the torch column
is PyTorch running the same mode (torch.autocast, and its GradScaler for 16-mixed). Before any
time counts, each framework checks that its first loss is within 2% of the float32 one and that
two steps leave finite weights.

On the CPU torchlite keeps the matmuls in float32 on low-precision storage (ops/half_compute.py:
float16/bfloat16 arrays are widened, multiplied in float32 and rounded back, as PyTorch's CPU
kernels accumulate), so a mixed step's extra cost over float32 is its conversions: every weight
cast down each step, every activation and weight gradient rounded once (_half_cast.py's
vectorised casts, the float32 values of a cast kept beside it) and relu on the 16-bit patterns
(ops/half_relu.py).
"""

from __future__ import annotations

import contextlib
import importlib.util

import numpy as np

from ._common import SEED, Env, FloorStep, RowSpec, make_optimizer, optimizer_name
from ._floor import cross_entropy, make_update
from .mlp import NAMES, Floor, data, make

REPEAT, WARMUP, BLOCK, SETTLE = 30, 3, 5, 0.15
PASSES = 3  # the modes compared with the float32 row: measured in turns (see _runner)
SIZES = (784, 512, 256, 10)
QUICK_SIZES = (64, 32, 16, 10)
BATCH = 128
OPT = {"name": "sgd", "lr": 0.01, "momentum": 0.9}
MODES = ("32", "bf16-mixed", "16-mixed", "bf16-true", "16-true")
_LOW = {"bf16-mixed": "bfloat16", "16-mixed": "float16", "bf16-true": "bfloat16",
        "16-true": "float16"}
TOLERANCE = 0.02  # relative, on the first loss: low-precision rounding moves it by ~0.5%


def rows(quick: bool = False) -> list[RowSpec]:
    sizes = QUICK_SIZES if quick else SIZES
    arch = "-".join(map(str, sizes))
    return [RowSpec("precision", mode, f"training step of an MLP {arch}, batch {BATCH}, "
                    f"precision {mode}, {optimizer_name(OPT)}; floor: float32 NumPy",
                    {"sizes": list(sizes), "batch": BATCH, "mode": mode, "seed": SEED},
                    samples=BATCH)
            for mode in available_modes()]


def available_modes() -> tuple[str, ...]:
    """The modes this machine can run: the bfloat16 ones need the bf16 extra (ml_dtypes)."""
    if importlib.util.find_spec("ml_dtypes") is not None:
        return MODES
    return tuple(m for m in MODES if "bf16" not in m)


def _float32_loss(params: dict) -> float:
    x, y, weights = data(params)
    h = x
    for i in range(3):
        h = h @ weights[f"{2 * i}.weight"].T + weights[f"{2 * i}.bias"]
        if i < 2:
            h = np.maximum(h, 0)
    return float(cross_entropy(np, h, y, np.arange(len(y)))[0])


class ModeStep:
    """The step in torchlite or PyTorch (the same code serves both): autocast and a GradScaler
    for the mixed modes, low-precision weights and inputs for the -true ones."""

    def __init__(self, env: Env, params: dict) -> None:
        lib, mode = env.lib, params["mode"]
        x, y, weights = data(params)
        self.env, self.mode, self.params_ = env, mode, params
        model = make(lib.nn, params["sizes"])
        model.load_state_dict({k: lib.from_numpy(v) for k, v in weights.items()})
        self.model = model.to(env.device)
        self.x, self.y = env.put(x), env.put(y)
        low = getattr(lib, _LOW[mode]) if mode in _LOW else None
        if mode.endswith("-true"):
            self.model.to(low)
            self.x = self.x.to(low)
        device_type = "cuda" if env.device.startswith("cuda") else "cpu"
        self.region = ((lambda: lib.autocast(device_type, dtype=low)) if mode.endswith("mixed")
                       else contextlib.nullcontext)
        self.scaler = lib.amp.GradScaler(device_type) if mode == "16-mixed" else None
        self.loss_fn = lib.nn.CrossEntropyLoss()
        self.opt = make_optimizer(lib, self.model.parameters(), OPT)

    def step(self):
        self.opt.zero_grad()
        with self.region():
            loss = self.loss_fn(self.model(self.x), self.y)
        if self.scaler is None:
            loss.backward()
            self.opt.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
        return loss

    def check(self) -> dict[str, float]:
        first = float(self.step().float().item())
        self.step()
        finite = all(np.isfinite(self.env.get(p.float())).all() for p in self.model.parameters())
        return _verdict(first, _float32_loss(self.params_), finite)


def _verdict(first: float, reference: float, finite: bool) -> dict[str, float]:
    close = abs(first - reference) <= TOLERANCE * abs(reference)
    return {"first loss within 2% of float32": float(close),
            "finite weights after 2 steps": float(finite)}


class FloorCase(FloorStep):
    """The float32 NumPy step (the mlp suite's floor), checked like the others."""

    params_: dict = {}

    def check(self) -> dict[str, float]:
        first = float(self.step())
        self.step()
        finite = all(np.isfinite(self.env.get(p)).all() for p in self._params)
        return _verdict(first, _float32_loss(self.params_), finite)


def build(env: Env, params: dict):
    if env.lib is None:
        x, y, weights = data(params)
        ps = [env.put(weights[k]) for k in NAMES]
        case = FloorCase(env, ps, Floor(env.xp, ps, env.put(x), env.put(y)),
                         make_update(env.xp, ps, OPT))
        case.params_ = params
        return case
    if "bf16" in params["mode"] and env.device != "cpu" and env.framework != "torch":
        return None  # CuPy has no bfloat16 arrays
    return ModeStep(env, params)
