"""Fused CuPy kernels for the launch-bound parts of a training step on the GPU.

One module per group: `optim` (Adam and SGD over all the parameters of a group in one launch),
`activation` (bias + activation, and its backward), `cross_entropy` (log-softmax + NLL forward
and backward per row), `dropout` (mask generation and scaling). Each wrapper takes cupy arrays,
builds its kernel on first use (then cached) and has a NumPy `*_reference` beside it that does
the same arithmetic, for the tests.

Importing this package, or any module in it, imports neither cupy nor anything heavy: cupy is
reached through `torchlite.backend` when a wrapper is first called, and callers only call a
wrapper once they hold cupy arrays (`backend.get_xp(a) is not numpy`).
"""
