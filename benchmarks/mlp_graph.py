"""Cost of building and back-propagating a graph: a 784-512-256-10 MLP step, batch 128, float32.

    python benchmarks/mlp_graph.py [--repeats 100] [--threads 1] [--json] [--profile]

torchlite ops with autograd against the same math in hand-written NumPy (forward and backward,
the floor for this design) and PyTorch when it is importable, in one process; see
torchlite/benchmark/mlp.py. Same as `torchlite bench --case mlp`, plus --profile.
"""

from __future__ import annotations

import sys

from _common import parser, run


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--profile", action="store_true", help="cProfile the torchlite step")
    args = p.parse_args()
    report = run("mlp", args)
    if args.profile:
        import cProfile
        import pstats

        from torchlite.benchmark import mlp

        step = next(mlp.rows()).fns["torchlite"]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(report.results[0].repeats):
            step()
        prof.disable()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
