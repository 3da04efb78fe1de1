"""A custom model for configs/custom_model.yaml: any torchlite nn.Module subclass works.

The config's `model.args` are passed to the constructor as keyword arguments; forward() receives
a batch of inputs (N, in_features) and returns logits (N, num_classes).
"""

import torchlite.nn as nn
import torchlite.nn.functional as F


class TinyNet(nn.Module):
    """Two hidden layers with a residual connection between them."""

    def __init__(self, in_features: int = 64, hidden: int = 64, num_classes: int = 10,
                 dropout: float = 0.0):
        super().__init__()
        self.inp = nn.Linear(in_features, hidden)
        self.mid = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, x):
        h = F.relu(self.inp(x))
        h = self.norm(h + F.relu(self.mid(self.drop(h))))
        return self.out(self.drop(h))
