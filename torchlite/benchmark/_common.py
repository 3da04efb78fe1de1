"""What the suites, the worker and the runner share: names, the row description, the framework
adapter a worker builds its cases with, and the training-step cases of the model suites.

A suite module (mlp.py, lenet5.py, ...) holds REPEAT, WARMUP, BLOCK (timed steps per turn of a
worker) and SETTLE (seconds of quiet before each turn, for steps that use thread pools; see
_runner.measure_pass), and optionally PASSES (rounds over its rows, for suites whose rows are
compared with each other; see _runner.run_suites), `rows(quick) -> list[RowSpec]` (run by the
parent, which imports no framework) and `build(env, params) -> case or None` (run by each
worker; None when the framework has no part in the row). A case has `step()` (one timed step)
and `check() -> dict[str, float]`, which runs the first steps and returns the numbers that must
agree across frameworks before any time counts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import BenchmarkError as BenchmarkError  # defined with the other errors

FRAMEWORKS = ("torchlite", "floor", "torch")
# torchlite with the profiler recording (`torchlite bench --profile`): what profiling costs
PROFILED = "profiled"
# model steps, then training's parts and whole jobs, start-up, the number formats and layouts,
# and last the suite that needs MPI
SUITES = ("mlp", "lenet5", "lstm", "optim", "data", "train", "startup", "precision", "quant",
          "sparse", "distributed")
SEED = 0


@dataclass(frozen=True)
class RowSpec:
    """One table row: `params` (JSON-able) is all a worker needs to build its side of it."""

    suite: str
    name: str
    description: str
    params: dict = field(default_factory=dict)
    samples: int | None = None  # items one step processes, for a samples/s figure


def suite_module(name: str):
    """The module of suite `name` (from the fixed table SUITES; nothing else is importable)."""
    if name not in SUITES:
        raise ValueError(f"unknown benchmark suite {name!r}; choose from {', '.join(SUITES)}")
    return importlib.import_module(f"{__package__}.{name}")


class Env:
    """One framework on one device, as a worker sees it: moving arrays in and out, the array
    module of the floor, and the synchronisation that must precede reading the clock."""

    def __init__(self, framework: str, device: str) -> None:
        from .. import backend

        if framework not in FRAMEWORKS and framework != PROFILED:
            raise ValueError(f"unknown framework {framework!r}")
        self.framework, self.device = framework, device
        self._backend = backend
        if framework == "torch":
            import torch

            self.lib = torch
        elif framework in ("torchlite", PROFILED):
            import torchlite

            self.lib = torchlite
        else:
            self.lib = None
        # the floor is written once over `xp`: NumPy here, CuPy on a GPU
        self.xp = backend.xp_for(backend.to_device(device)) if framework == "floor" else np

    def put(self, a: np.ndarray):
        """A framework array/tensor on the device holding `a` (shares memory on the CPU)."""
        if self.lib is None:
            return self.xp.asarray(a)
        return self.lib.from_numpy(a).to(self.device)

    def get(self, t) -> np.ndarray:
        """A NumPy array with the values of a framework array/tensor."""
        if self.lib is None:
            return self._backend.move(t, self._backend.CPU)
        return t.detach().cpu().numpy()

    def scalar(self, t) -> float:
        return float(t) if self.lib is None else float(t.item())

    def sync(self) -> None:
        """Wait for the device, so that a step's time includes its kernels."""
        if self.device == "cpu":
            return
        if self.framework == "torch":
            self.lib.cuda.synchronize()
        else:
            self._backend.synchronize()


# ------------------------------------------------------------------------------------------------
# the model suites: data and weights from one seed, a training step per framework


def uniform(rng: np.random.Generator, shape: tuple, bound: float) -> np.ndarray:
    """float32 values in [-bound, bound): PyTorch's default initialisation of Linear, Conv and
    LSTM weights has this form, so the models start where PyTorch users expect."""
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def optimizer_name(opt: dict) -> str:
    if opt["name"] == "adam":
        return f"Adam(lr={opt['lr']:g})"
    mom = f", momentum={opt['momentum']:g}" if opt.get("momentum") else ""
    return f"SGD(lr={opt['lr']:g}{mom})"


def make_optimizer(lib, params, opt: dict):
    """torchlite's or PyTorch's optimizer from a row's optimizer spec."""
    if opt["name"] == "adam":
        return lib.optim.Adam(params, lr=opt["lr"])
    return lib.optim.SGD(params, lr=opt["lr"], momentum=opt.get("momentum", 0.0))


def train_check(env: Env, case, steps: int = 2) -> dict[str, float]:
    """Run the first `steps` training steps: their losses and how far the parameters moved.

    The first loss checks the data, weights and forward pass; the later ones and the movement
    (sum of |change|, in float64) check the backward pass and the update, momentum included."""
    before = [env.get(p).copy() for p in case.params()]
    out = {f"loss {i + 1}": env.scalar(case.step()) for i in range(steps)}
    out["sum |param change|"] = float(sum(
        np.abs(env.get(p) - b).sum(dtype=np.float64) for p, b in zip(case.params(), before)))
    return out


class ModuleStep:
    """A training step of an nn.Module in torchlite or PyTorch (the same code serves both):
    zero_grad, forward, CrossEntropyLoss, backward, optimizer step."""

    def __init__(self, env: Env, model, weights: dict, x: np.ndarray, y: np.ndarray,
                 opt: dict) -> None:
        self.env = env
        model.load_state_dict({k: env.lib.from_numpy(v) for k, v in weights.items()})
        self.model = model.to(env.device)
        self.x, self.y = env.put(x), env.put(y)
        self.loss_fn = env.lib.nn.CrossEntropyLoss()
        self.opt = make_optimizer(env.lib, self.model.parameters(), opt)

    def step(self):
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def params(self) -> list:
        return list(self.model.parameters())

    def check(self) -> dict[str, float]:
        return train_check(self.env, self)


class FloorStep:
    """The floor's training step: `forward_backward()` -> (loss, gradients in `params`' order),
    then the hand-written update in place."""

    def __init__(self, env: Env, params: list, forward_backward, update) -> None:
        self.env, self._params = env, params
        self.forward_backward, self.update = forward_backward, update

    def step(self):
        loss, grads = self.forward_backward()
        self.update(grads)
        return loss

    def params(self) -> list:
        return self._params

    def check(self) -> dict[str, float]:
        return train_check(self.env, self)
