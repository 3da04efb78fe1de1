"""Learning-rate schedulers, as `torch.optim.lr_scheduler`.

Each scheduler gives PyTorch's lr sequence. The classes live in `_scheduler_base.py` (the base),
`_schedulers_basic.py` (per-epoch factors), `_schedulers_cyclic.py` (cyclic schedules) and
`_schedulers_composite.py` (sequential/chained and ReduceLROnPlateau); this module gathers them.
"""

from ._scheduler_base import LRScheduler, _LRScheduler
from ._schedulers_basic import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from ._schedulers_composite import ChainedScheduler, ReduceLROnPlateau, SequentialLR
from ._schedulers_cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

__all__ = [
    "LRScheduler", "_LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR",
    "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler",
    "ReduceLROnPlateau",
]
