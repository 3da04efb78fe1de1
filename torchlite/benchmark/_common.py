"""What every benchmark case shares: the timer, thread limits, agreement checks, small helpers.

A case builds `Row`s: one named step per framework, all doing the same math on the same data.
The timer runs the steps of a row in turn, so that drift in machine load hits all of them alike.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

import torchlite

FRAMEWORKS = ("torchlite", "numpy", "torch")


class BenchmarkError(RuntimeError):
    """The implementations of a case disagree, so their times would mean nothing."""


@dataclass
class Row:
    """One timed line: `fns` maps a framework name (see FRAMEWORKS) to a zero-argument step."""

    name: str
    description: str
    fns: dict[str, Callable[[], object]]


def median_ms(fns: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, float]:
    """Median wall time in ms of each function; the functions take turns within each repeat."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def import_torch():
    """PyTorch when it is installed, else None (it is optional everywhere in torchlite)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


@contextlib.contextmanager
def limit_threads(threads: int | None, torch=None) -> Iterator[None]:
    """Run the block with `threads` BLAS/OpenMP threads (threadpoolctl, when installed) and
    `torch.set_num_threads(threads)`; both are restored afterwards. None or 0 changes nothing.

    threadpoolctl acts on an already loaded BLAS; without it only the environment variables set
    before NumPy was first imported (as `torchlite bench` does) limit NumPy's BLAS."""
    if not threads:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limiter = contextlib.nullcontext()
    else:
        limiter = threadpool_limits(limits=threads)
    saved = torch.get_num_threads() if torch is not None else None
    with limiter:
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(saved)


def blas_threads() -> int | None:
    """Threads of the loaded BLAS as threadpoolctl sees them; None when that is unknown."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(counts) if counts else None


def check_close(case: str, what: str, got, ref, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Raise BenchmarkError unless `got` matches `ref` (arrays or floats)."""
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape or not np.allclose(got, ref, rtol=rtol, atol=atol):
        diff = np.max(np.abs(got - ref)) if got.shape == ref.shape else "shape"
        raise BenchmarkError(f"{case}: {what} disagrees with the NumPy reference "
                             f"(max abs difference {diff}); the timings would be meaningless")


def cross_entropy(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits z (N, C) for labels y (N,), and its gradient wrt z."""
    n = len(y)
    rows = np.arange(n)
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - z[rows, y]))
    g = e / s
    g[rows, y] -= 1
    g *= 1.0 / n  # a Python float keeps float32
    return loss, g


def train_step(model, x, y, loss_fn, opt) -> Callable[[], object]:
    """A zero-argument training step (zero_grad, forward, loss, backward, update); works for
    torchlite and PyTorch objects alike."""

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def sgd_numpy(forward_backward, params: list[np.ndarray], x, y, lr: float):
    """The NumPy counterpart of train_step with plain SGD: updates `params` in place."""

    def step():
        loss, grads = forward_backward(params, x, y)
        for p, g in zip(params, grads):
            p -= lr * g
        return loss

    return step


def copy_to_torch(torch, t_model, tl_model) -> None:
    """Copy torchlite parameters into the PyTorch model (same names, same layouts)."""
    with torch.no_grad():
        for (n1, p), (n2, q) in zip(t_model.named_parameters(), tl_model.named_parameters()):
            if n1 != n2:
                raise BenchmarkError(f"parameter names differ: torch {n1!r}, torchlite {n2!r}")
            p.copy_(torch.from_numpy(q.detach().numpy()))


def numpy_params(tl_model) -> list[np.ndarray]:
    """Independent float32 copies of a torchlite model's parameters, in parameters() order."""
    return [p.detach().numpy().copy() for p in tl_model.parameters()]


def model_step_fns(case: str, make, x, y, numpy_forward_backward, lr: float,
                   torch=None) -> dict[str, Callable[[], object]]:
    """The timed training steps of a model case (torchlite, its NumPy floor, PyTorch if given).

    `make(nn)` builds the model from a `nn` namespace (torchlite's or PyTorch's). Before
    anything is timed, torchlite's first loss and gradients must equal the NumPy reference's
    and PyTorch's loss must equal it too (PyTorch gets torchlite's initial weights).
    """
    torchlite.manual_seed(0)
    model = make(torchlite.nn)
    params = numpy_params(model)
    tl_x, tl_y = torchlite.tensor(x), torchlite.tensor(y)
    cross = torchlite.nn.functional.cross_entropy

    ref_loss, ref_grads = numpy_forward_backward(params, x, y)
    loss = cross(model(tl_x), tl_y)
    loss.backward()
    check_close(case, "torchlite loss", loss.item(), ref_loss)
    for (name, p), r in zip(model.named_parameters(), ref_grads):
        check_close(case, f"torchlite gradient of {name}", p.grad.numpy(), r)
    model.zero_grad()

    fns = {
        "torchlite": train_step(model, tl_x, tl_y, cross,
                                torchlite.optim.SGD(model.parameters(), lr=lr)),
        "numpy": sgd_numpy(numpy_forward_backward, params, x, y, lr),
    }
    if torch is not None:
        t_model = make(torch.nn)
        copy_to_torch(torch, t_model, model)
        t_x, t_y = torch.from_numpy(x), torch.from_numpy(y)
        check_close(case, "PyTorch loss",
                    torch.nn.functional.cross_entropy(t_model(t_x), t_y).item(), ref_loss)
        fns["torch"] = train_step(t_model, t_x, t_y, torch.nn.functional.cross_entropy,
                                  torch.optim.SGD(t_model.parameters(), lr=lr))
    return fns
