"""ChannelShuffle: the layer form of F.channel_shuffle (PyTorch's nn.modules.channelshuffle)."""

from __future__ import annotations

from ...tensor import Tensor
from ..functional.upsampling import channel_shuffle
from ..module import Module

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    """Regroup the channels: (N, g*k, *) as k groups of g. Shape: (N, C, *) -> same."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
