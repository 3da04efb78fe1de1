"""cProfile one framework's step of a `torchlite bench` row, in this process.

    python benchmarks/profile_step.py SUITE [ROW] [--framework torchlite|floor|torch]
        [--steps 50] [--device cpu|cuda] [--threads N] [--sort tottime] [--limit 25] [--quick]
    python benchmarks/profile_step.py mlp "b32 adam"
    python benchmarks/profile_step.py mlp --list

ROW is a row name as `torchlite bench` prints it after the suite (default: the suite's first).
The step is the one the benchmark times, built the same way (same data, weights and check);
timings and ratios come from `torchlite bench --suite SUITE`, this shows where a step's time
goes. Runs from a checkout too, installed or not.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("suite", help="mlp, lenet5, lstm, optim, data or startup")
    p.add_argument("row", nargs="?", help="row name (default: the suite's first row)")
    p.add_argument("--framework", default="torchlite", choices=("torchlite", "floor", "torch"))
    p.add_argument("--steps", type=int, default=50, help="profiled steps (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="unprofiled steps first (default 5)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--threads", type=int, default=0,
                   help="BLAS/OpenMP threads (default 0: the environment's)")
    p.add_argument("--sort", default="tottime", help="pstats sort key (default tottime)")
    p.add_argument("--limit", type=int, default=25, help="lines of the profile (default 25)")
    p.add_argument("--quick", action="store_true", help="the tiny sizes the tests use")
    p.add_argument("--list", action="store_true", help="list the suite's rows and exit")
    args = p.parse_args()

    if args.threads:  # BLAS reads these when it loads: before anything imports NumPy
        for var in THREAD_VARS:
            os.environ[var] = str(args.threads)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from torchlite.benchmark._common import Env, suite_module

    mod = suite_module(args.suite)
    rows = mod.rows(args.quick)
    if args.list:
        for r in rows:
            print(f"{r.name:16s} {r.description}")
        return 0
    row = rows[0] if args.row is None else next((r for r in rows if r.name == args.row), None)
    if row is None:
        p.error(f"no row {args.row!r} in {args.suite}; rows: {', '.join(r.name for r in rows)}")
    env = Env(args.framework, args.device)
    if env.lib is not None and args.threads:  # torchlite and torch have intra-op pools
        env.lib.set_num_threads(args.threads)
    case = mod.build(env, row.params)
    if case is None:
        p.error(f"{args.framework} has no part in {args.suite}/{row.name}")
    case.check()
    for _ in range(args.warmup):
        case.step()
    env.sync()

    print(f"{args.suite}/{row.name} ({args.framework}, {args.device}): {row.description}")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.steps):
        case.step()
        env.sync()
    prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout).sort_stats(args.sort)
    stats.print_stats(args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
