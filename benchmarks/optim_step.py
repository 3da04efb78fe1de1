"""One optimizer step per algorithm on MLP-sized float32 parameters (about 1.1M values):
torchlite against the same optimizer in PyTorch when it is installed (same process, same data).

    python benchmarks/optim_step.py [--repeats 10] [--threads 1] [--json]

See torchlite/benchmark/optimizers.py. Same as `torchlite bench --case optim`.
"""

from _common import parser, run

if __name__ == "__main__":
    run("optim", parser(__doc__).parse_args())
