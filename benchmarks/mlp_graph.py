"""Cost of building and back-propagating a graph: a 784-512-256-10 MLP step, batch 128, float32.

    PYTHONPATH=. python benchmarks/mlp_graph.py [--repeats 200] [--threads 1] [--profile]

One step = forward (matmul + bias + relu twice, a linear output, log-softmax via logsumexp, the
mean negative log-likelihood) and backward to all six parameters. The same math is written three
ways and timed in one process: torchlite ops with autograd, hand-written NumPy (forward and
backward, the floor for this design) and PyTorch when it is importable. The three take turns
within each repeat; the script prints the median of the repeats and the ratios. BLAS runs on one
thread by default, for all three alike: on a small machine, NumPy's and PyTorch's thread pools
fight over the cores and the numbers become noise (--threads 0 keeps the libraries' defaults).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads for NumPy and PyTorch (default 1: measures the graph cost, "
                   "not BLAS scaling; 0 leaves the libraries' defaults)")
    p.add_argument("--profile", action="store_true", help="cProfile the torchlite step")
    return p.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None and ARGS.threads:  # must be set before NumPy loads its BLAS
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

import torchlite  # noqa: E402

SIZES = (784, 512, 256, 10)
BATCH = 128


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        params += [w, b]
    onehot = np.zeros((BATCH, SIZES[-1]), np.float32)
    onehot[np.arange(BATCH), y] = 1.0
    return x, onehot, params


# ----------------------------------------------------------------------------------------------
# the three implementations of one step; each returns (loss, list of parameter gradients)


def numpy_step(x, onehot, params):
    w1, b1, w2, b2, w3, b3 = params
    z1 = x @ w1 + b1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ w2 + b2
    h2 = np.maximum(z2, 0)
    z3 = h2 @ w3 + b3
    m = z3.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z3 - m).sum(axis=1, keepdims=True)) + m
    logp = z3 - lse
    loss = -(logp * onehot).sum(axis=1).mean()
    # backward
    g_logp = onehot * np.float32(-1.0 / BATCH)
    g_z3 = g_logp - np.exp(logp) * g_logp.sum(axis=1, keepdims=True)
    g_w3 = h2.T @ g_z3
    g_b3 = g_z3.sum(axis=0)
    g_z2 = (g_z3 @ w3.T) * (z2 > 0)
    g_w2 = h1.T @ g_z2
    g_b2 = g_z2.sum(axis=0)
    g_z1 = (g_z2 @ w2.T) * (z1 > 0)
    g_w1 = x.T @ g_z1
    g_b1 = g_z1.sum(axis=0)
    return loss, [g_w1, g_b1, g_w2, g_b2, g_w3, g_b3]


def torchlite_step(x, onehot, params):
    for p in params:
        p.grad = None
    w1, b1, w2, b2, w3, b3 = params
    h1 = torchlite.relu(torchlite.add(torchlite.matmul(x, w1), b1))
    h2 = torchlite.relu(torchlite.add(torchlite.matmul(h1, w2), b2))
    z3 = torchlite.add(torchlite.matmul(h2, w3), b3)
    logp = z3 - torchlite.logsumexp(z3, 1, keepdim=True)
    loss = -(logp * onehot).sum(1).mean()
    loss.backward()
    return loss, [p.grad for p in params]


def torch_step(torch, x, onehot, params):
    for p in params:
        p.grad = None
    w1, b1, w2, b2, w3, b3 = params
    h1 = torch.relu(torch.add(torch.matmul(x, w1), b1))
    h2 = torch.relu(torch.add(torch.matmul(h1, w2), b2))
    z3 = torch.add(torch.matmul(h2, w3), b3)
    logp = z3 - torch.logsumexp(z3, 1, keepdim=True)
    loss = -(logp * onehot).sum(1).mean()
    loss.backward()
    return loss, [p.grad for p in params]


def median_ms(fns: dict, repeats: int, warmup: int) -> dict:
    """Median wall time of each function; the functions take turns, so drift hits all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def main(args) -> int:
    x, onehot, params = make_data()
    tl_x, tl_onehot = torchlite.from_numpy(x), torchlite.from_numpy(onehot)
    tl_params = [torchlite.from_numpy(p.copy()).requires_grad_() for p in params]

    # the three must agree before their times mean anything
    ref_loss, ref_grads = numpy_step(x, onehot, params)
    loss, grads = torchlite_step(tl_x, tl_onehot, tl_params)
    assert abs(loss.item() - ref_loss) < 1e-4, (loss.item(), ref_loss)
    for g, r in zip(grads, ref_grads):
        assert g.dtype == torchlite.float32
        np.testing.assert_allclose(g.numpy(), r, rtol=1e-4, atol=1e-6)

    fns = {
        "numpy": lambda: numpy_step(x, onehot, params),
        "torchlite": lambda: torchlite_step(tl_x, tl_onehot, tl_params),
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        if args.threads:
            torch.set_num_threads(args.threads)
        t_x, t_onehot = torch.from_numpy(x), torch.from_numpy(onehot)
        t_params = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
        t_loss, _ = torch_step(torch, t_x, t_onehot, t_params)
        assert abs(t_loss.item() - ref_loss) < 1e-4
        fns["pytorch"] = lambda: torch_step(torch, t_x, t_onehot, t_params)
    results = median_ms(fns, args.repeats, args.warmup)

    print(f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, forward + backward, "
          f"median of {args.repeats}")
    for name, ms in results.items():
        print(f"  {name:<10} {ms:8.3f} ms")
    print(f"  torchlite / numpy   = {results['torchlite'] / results['numpy']:.3f}")
    if "pytorch" in results:
        print(f"  torchlite / pytorch = {results['torchlite'] / results['pytorch']:.3f}")

    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.repeats):
            torchlite_step(tl_x, tl_onehot, tl_params)
        prof.disable()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
