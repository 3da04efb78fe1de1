"""TensorBoard logging, as `torch.utils.tensorboard`: `SummaryWriter`.

Importing this package needs nothing extra; creating a writer needs tensorboardX
(`pip install 'torchlite[tensorboard]'`), which also installs the `tensorboard` viewer:
`tensorboard --logdir runs`.
"""

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
