"""LeNet-5 training step (batch 64, 1x28x28, float32): torchlite vs NumPy by hand vs PyTorch.

    python benchmarks/lenet_step.py [--repeats 50] [--threads 1] [--json]

Conv-relu-pool twice, three linear layers, cross-entropy, backward and an SGD update, from the
same weights in all three (the first step's loss and gradients are compared before timing); see
torchlite/benchmark/lenet.py. Same as `torchlite bench --case lenet`.
"""

from _common import parser, run

if __name__ == "__main__":
    run("lenet", parser(__doc__).parse_args())
