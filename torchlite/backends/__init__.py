"""`torchlite.backends`: PyTorch's backend switches, so seeding and device boilerplate runs.

torchlite has no cuDNN, MPS or TF32 code paths: `cudnn` and `cuda.matmul` hold the flags a script
sets (validated and read back as in PyTorch) without changing how torchlite computes, and
`mps.is_available()` is False.
"""

from . import cuda, cudnn, mha, mps

__all__ = ["cuda", "cudnn", "mha", "mps"]
