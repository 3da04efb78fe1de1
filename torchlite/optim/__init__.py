"""Optimizers and learning-rate schedulers, as `torch.optim`.

Every optimizer follows PyTorch's defaults, options, update formulas and order of operations, and
its `state_dict()` has PyTorch's layout. Learning-rate schedulers live in
`torchlite.optim.lr_scheduler`; weight averaging (SWA, EMA) in `torchlite.optim.swa_utils`,
imported on first use.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = [
    "ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "NAdam",
    "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam", "lr_scheduler", "swa_utils",
]


def __getattr__(name: str):
    if name == "swa_utils":  # it imports nn; most optimizer users never need it
        import importlib

        module = importlib.import_module(".swa_utils", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'torchlite.optim' has no attribute {name!r}")
