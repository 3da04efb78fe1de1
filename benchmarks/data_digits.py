"""Time loading the embedded digits dataset and one shuffled epoch at batch size 64.

    python benchmarks/data_digits.py [--repeats 20] [--batch-size 64] [--json]

Rows: loading (`torchlite.datasets.digits()`), one epoch through the vectorised fast path (and
its NumPy floor), one epoch through the per-sample path, and load + fast epoch together; see
torchlite/benchmark/data.py. Same as `torchlite bench --case data`, plus --batch-size.
"""

from _common import parser, run

if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    run("data", args, batch_size=args.batch_size)
