"""Time loading the embedded digits dataset and one shuffled epoch at batch size 64.

    PYTHONPATH=. python benchmarks/data_digits.py [--repeats 20]   (or after pip install -e .)

Prints the median of the repeats for: loading (`torchlite.datasets.digits()`), one epoch through
the vectorised fast path, one epoch through the per-sample path (a custom collate_fn forces it),
and load + fast epoch together. Import time of torchlite is excluded.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torchlite
from torchlite.datasets import digits
from torchlite.utils.data import DataLoader, default_collate


def _epoch(loader) -> int:
    n = 0
    for x, _y in loader:
        n += x.shape[0]
    return n


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    torchlite.manual_seed(0)
    bs = args.batch_size
    ds = digits()
    fast = DataLoader(ds, batch_size=bs, shuffle=True, seed=0)
    slow = DataLoader(
        ds, batch_size=bs, shuffle=True, seed=0, collate_fn=lambda b: default_collate(b)
    )
    assert _epoch(fast) == len(ds) == _epoch(slow)

    def load_and_epoch() -> None:
        _epoch(DataLoader(digits(), batch_size=bs, shuffle=True, seed=0))

    rows = [
        ("load digits()", _median_ms(digits, args.repeats)),
        (f"epoch, batch {bs}, fast path", _median_ms(lambda: _epoch(fast), args.repeats)),
        (f"epoch, batch {bs}, per-sample path", _median_ms(lambda: _epoch(slow), args.repeats)),
        ("load + fast epoch", _median_ms(load_and_epoch, args.repeats)),
    ]
    print(f"digits: {len(ds)} samples, {len(fast)} batches; median of {args.repeats} runs")
    for label, ms in rows:
        print(f"  {label:<34} {ms:9.3f} ms")


if __name__ == "__main__":
    main()
