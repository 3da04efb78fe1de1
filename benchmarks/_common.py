"""What the scripts in this folder share: each one is a thin wrapper over `torchlite.benchmark`
(the measurement code lives there; `torchlite bench --case NAME` runs the same and prints a
table). Run a script from anywhere, installed or not: `python benchmarks/mlp_graph.py -h`.
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--repeats", "--repeat", dest="repeats", type=int, default=None,
                   help="timed steps per framework (default: the case's own)")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed steps per framework first (default: the case's own)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads for NumPy and PyTorch (default 1: measures the framework, "
                   "not BLAS scaling; 0 leaves the libraries' defaults)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    return p


def run(case: str, args: argparse.Namespace, **options):
    """Limit threads (before NumPy loads its BLAS), run the case, print its results; returns
    the report."""
    if args.threads:
        for var in BLAS_THREAD_VARS:
            os.environ[var] = str(args.threads)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from torchlite import benchmark

    try:  # the CLI's renderer: installed as torchlite_cli, or cli/ in this checkout
        from torchlite_cli import display
    except ImportError:
        from cli import display

    report = benchmark.run(case, repeats=args.repeats, warmup=args.warmup,
                           threads=args.threads, options=options or None)
    if args.json:
        display.print_json(report.to_dict())
    else:
        display.bench_table(report.to_dict())
    return report
