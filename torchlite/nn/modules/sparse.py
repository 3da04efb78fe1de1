"""PyTorch's import path `torch.nn.modules.sparse` (Embedding lives in embedding.py,
EmbeddingBag in embedding_bag.py)."""

from .embedding import Embedding
from .embedding_bag import EmbeddingBag

__all__ = ["Embedding", "EmbeddingBag"]
