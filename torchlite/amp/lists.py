"""Which ops autocast runs in the low dtype, which in float32, which at their widest input.

PyTorch's lists (aten/src/ATen/autocast_mode.cpp), restricted to the ops torchlite has. The CPU
lists are much shorter than CUDA's: on the CPU, PyTorch leaves softmax, norms, reductions and
the elementwise math in the dtype they are given and sends only the losses (and a few others) to
float32. An op not listed runs in its inputs' dtype, promoting as usual.
"""

from __future__ import annotations

LOWER, FP32, PROMOTE = "lower", "fp32", "promote"

_MATMULS = ("linear", "matmul", "mm", "bmm", "baddbmm", "addmm", "addbmm", "conv1d", "conv2d",
            "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "prelu",
            "scaled_dot_product_attention", "einsum")

_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
           "kl_div", "binary_cross_entropy_with_logits", "margin_ranking_loss",
           "hinge_embedding_loss", "soft_margin_loss", "poisson_nll_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "multilabel_margin_loss",
           "multi_margin_loss", "multilabel_soft_margin_loss", "gaussian_nll_loss", "ctc_loss")

CPU = {
    # the LSTM (mkldnn_rnn_layer) and the plain RNN (built of matmuls) too; GRU stays float32
    **dict.fromkeys(_MATMULS + ("lstm", "rnn"), LOWER),
    **dict.fromkeys(_LOSSES + ("binary_cross_entropy", "prod", "cdist", "trace"), FP32),
    **dict.fromkeys(("cat", "stack", "index_copy"), PROMOTE),
}

CUDA = {
    **dict.fromkeys(_MATMULS + ("mv", "addmv", "addr", "lstm_cell", "gru_cell", "rnn_tanh_cell",
                                "rnn_relu_cell", "chain_matmul", "multi_dot", "lstm", "gru",
                                "rnn"), LOWER),
    **dict.fromkeys(_LOSSES + (
        "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p",
        "reciprocal", "rsqrt", "sinh", "tan", "pow", "softplus", "layer_norm", "group_norm",
        "norm", "cosine_similarity", "dist", "pdist", "cdist", "renorm", "logsumexp",
        "softmax", "log_softmax", "prod", "cumprod", "cumsum", "sum", "vector_norm"), FP32),
    **dict.fromkeys(("addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "index_put",
                     "scatter_add", "tensordot", "cat", "stack", "index_copy"), PROMOTE),
}

POLICIES = {"cpu": CPU, "cuda": CUDA}

# PyTorch refuses binary_cross_entropy under CUDA autocast (unsafe in float16): so does torchlite
CUDA_BANNED = {"binary_cross_entropy": (
    "binary_cross_entropy is unsafe to autocast: use binary_cross_entropy_with_logits (or "
    "BCEWithLogitsLoss), which combines the sigmoid and the loss safely")}
