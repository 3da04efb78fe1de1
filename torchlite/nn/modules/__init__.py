"""The layer classes of torchlite.nn (each file mirrors torch/nn/modules/)."""

# PyTorch's file names for classes that live elsewhere here (modules.batchnorm.BatchNorm2d, ...)
from . import batchnorm, instancenorm, module, pixelshuffle, sparse  # noqa: F401
from .activation import *  # noqa: F403
from .activation import __all__ as _activation
from .attention import *  # noqa: F403
from .attention import __all__ as _attention
from .channelshuffle import *  # noqa: F403
from .channelshuffle import __all__ as _channelshuffle
from .container import *  # noqa: F403
from .container import __all__ as _container
from .conv import *  # noqa: F403
from .conv import __all__ as _conv
from .distance import *  # noqa: F403
from .distance import __all__ as _distance
from .dropout import *  # noqa: F403
from .dropout import __all__ as _dropout
from .embedding import *  # noqa: F403
from .embedding import __all__ as _embedding
from .embedding_bag import *  # noqa: F403
from .embedding_bag import __all__ as _embedding_bag
from .flatten import *  # noqa: F403
from .flatten import __all__ as _flatten
from .fold import *  # noqa: F403
from .fold import __all__ as _fold
from .lazy import *  # noqa: F403
from .lazy import __all__ as _lazy
from .linear import *  # noqa: F403
from .linear import __all__ as _linear
from .loss import *  # noqa: F403
from .loss import __all__ as _loss
from .normalization import *  # noqa: F403
from .normalization import __all__ as _normalization
from .normalization_2d import *  # noqa: F403
from .normalization_2d import __all__ as _normalization_2d
from .normalization_3d import *  # noqa: F403
from .normalization_3d import __all__ as _normalization_3d
from .padding import *  # noqa: F403
from .padding import __all__ as _padding
from .pooling import *  # noqa: F403
from .pooling import __all__ as _pooling
from .rnn import *  # noqa: F403
from .rnn import __all__ as _rnn
from .syncbatchnorm import *  # noqa: F403
from .syncbatchnorm import __all__ as _syncbatchnorm
from .transformer import *  # noqa: F403
from .transformer import __all__ as _transformer
from .upsampling import *  # noqa: F403
from .upsampling import __all__ as _upsampling

__all__ = [*_activation, *_container, *_distance, *_dropout, *_embedding, *_flatten, *_linear,
           *_loss, *_normalization, *_attention, *_conv, *_normalization_2d, *_pooling, *_rnn,
           *_transformer, *_upsampling, *_syncbatchnorm]
__all__ += _embedding_bag
__all__ += _fold
__all__ += _padding
__all__ += _normalization_3d
__all__ += _channelshuffle
__all__ += _lazy
