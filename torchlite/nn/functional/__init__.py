"""torchlite.nn.functional (`F`): the functional form of every layer, activation and loss."""

from ...ops.pad import pad
from .activation import (
    celu,
    celu_,
    elu,
    elu_,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    relu_,
    rrelu,
    rrelu_,
    selu,
    selu_,
    sigmoid,
    silu,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
    threshold_,
)
from .attention import multi_head_attention_forward, scaled_dot_product_attention
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .conv3d import conv3d, conv_transpose3d
from .cross_entropy import cross_entropy, nll_loss
from .ctc import ctc_loss
from .distance import (
    cosine_embedding_loss,
    cosine_similarity,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    normalize,
    pairwise_distance,
    pdist,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from .dropout import (
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from .embedding import embedding, one_hot
from .embedding_bag import embedding_bag
from .fold import fold, unfold
from .grid_sample import affine_grid, grid_sample
from .instance_norm import instance_norm
from .linear import bilinear, linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from .margin import (
    multi_margin_loss,
    multilabel_margin_loss,
    triplet_margin_with_distance_loss,
)
from .normalization import batch_norm, group_norm, layer_norm, local_response_norm, rms_norm
from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from .pooling3d import (
    adaptive_avg_pool3d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    lp_pool3d,
    max_pool1d_with_indices,
    max_pool2d_with_indices,
    max_pool3d,
    max_pool3d_with_indices,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from .softmax import gumbel_softmax, log_softmax, softmax, softmin
from .upsampling import (
    channel_shuffle,
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)

__all__ = [
    "pad", "celu", "elu", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
    "leaky_relu", "logsigmoid", "mish", "prelu", "relu", "relu6", "relu_", "selu", "sigmoid",
    "silu", "softplus", "softshrink", "softsign", "tanh", "tanhshrink", "threshold",
    "cross_entropy", "nll_loss", "cosine_embedding_loss", "cosine_similarity",
    "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "multilabel_soft_margin_loss", "normalize", "pairwise_distance", "pdist", "poisson_nll_loss",
    "soft_margin_loss", "triplet_margin_loss", "alpha_dropout", "dropout", "dropout1d",
    "dropout2d", "dropout3d", "feature_alpha_dropout", "embedding", "one_hot", "bilinear",
    "linear", "binary_cross_entropy", "binary_cross_entropy_with_logits", "huber_loss",
    "kl_div", "l1_loss", "mse_loss", "smooth_l1_loss", "batch_norm", "group_norm", "layer_norm",
    "log_softmax", "softmax", "softmin", "rrelu", "rrelu_", "elu_", "selu_", "celu_",
    "leaky_relu_", "hardtanh_", "threshold_", "rms_norm",
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "interpolate", "upsample", "upsample_nearest",
    "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle", "instance_norm",
    "scaled_dot_product_attention", "multi_head_attention_forward",
]
__all__ += ["embedding_bag"]
__all__ += ["conv3d", "conv_transpose3d", "fold", "unfold", "adaptive_avg_pool3d",
            "adaptive_max_pool3d", "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d",
            "max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d"]
__all__ += ["affine_grid", "grid_sample", "channel_shuffle"]
__all__ += ["max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
            "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
            "adaptive_max_pool3d_with_indices"]
__all__ += ["gumbel_softmax", "local_response_norm", "multi_margin_loss", "multilabel_margin_loss",
            "triplet_margin_with_distance_loss"]
__all__ += ["ctc_loss"]
