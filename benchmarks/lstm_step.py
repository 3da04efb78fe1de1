"""2-layer LSTM training step (batch 32, seq 35, input 64, hidden 128, float32): torchlite vs
NumPy by hand vs PyTorch.

    python benchmarks/lstm_step.py [--repeats 30] [--threads 1] [--json]

LSTM, a linear head on the last hidden state, cross-entropy, backward and an SGD update, from the
same weights in all three (the first step's loss and gradients are compared before timing); see
torchlite/benchmark/lstm.py. Same as `torchlite bench --case lstm`.
"""

from _common import parser, run

if __name__ == "__main__":
    run("lstm", parser(__doc__).parse_args())
