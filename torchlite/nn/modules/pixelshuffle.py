"""PyTorch's import path `torch.nn.modules.pixelshuffle` (the classes live in upsampling.py)."""

from .upsampling import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
