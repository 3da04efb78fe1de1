"""PyTorch's import path `torch.nn.modules.sparse` (Embedding lives in embedding.py)."""

from .embedding import Embedding

__all__ = ["Embedding"]
