"""autocast: PyTorch's op lists (checked against PyTorch's CPU autocast), regions, the weight
cache, gradients to the float32 master weights."""

import warnings

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.amp import lists, state

pytest.importorskip("ml_dtypes", reason="bfloat16 needs the bf16 extra (ml_dtypes)")

LOW = ["bfloat16", "float16"]
RNG = np.random.default_rng(0)
ARR = {
    "x": RNG.standard_normal((4, 8)), "w": RNG.standard_normal((8, 8)),
    "b": RNG.standard_normal(8), "x3": RNG.standard_normal((2, 4, 8)),
    "img": RNG.standard_normal((1, 3, 8, 8)), "cw": RNG.standard_normal((4, 3, 3, 3)),
    "p": RNG.uniform(0.1, 0.9, (4, 8)), "seq": RNG.standard_normal((2, 3, 6)),
    "cw1": RNG.standard_normal((4, 3, 3)), "tw": RNG.standard_normal((3, 4, 3, 3)),
    "v": RNG.standard_normal(4), "one": np.ones(4),
}
TARGET = np.array([0, 3, 5, 7])

# op -> function of (library, functional module, inputs dict); run by torchlite and by torch
OPS = {
    "linear": lambda L, F, a: F.linear(a["x"], a["w"], a["b"]),
    "matmul": lambda L, F, a: a["x"] @ a["w"],
    "mm": lambda L, F, a: L.mm(a["x"], a["w"]),
    "bmm": lambda L, F, a: L.bmm(a["x3"], a["x3"].transpose(1, 2)),
    "addmm": lambda L, F, a: L.addmm(a["b"], a["x"], a["w"]),
    "conv2d": lambda L, F, a: F.conv2d(a["img"], a["cw"], padding=1),
    "conv1d": lambda L, F, a: F.conv1d(a["seq"].transpose(1, 2)[:, :3], a["cw1"]),
    "conv_transpose2d": lambda L, F, a: F.conv_transpose2d(a["img"], a["tw"]),
    "sdpa": lambda L, F, a: F.scaled_dot_product_attention(a["x3"], a["x3"], a["x3"]),
    "einsum": lambda L, F, a: L.einsum("ij,jk->ik", a["x"], a["w"]),
    "softmax": lambda L, F, a: F.softmax(a["x"], -1),
    "log_softmax": lambda L, F, a: F.log_softmax(a["x"], -1),
    "cross_entropy": lambda L, F, a: F.cross_entropy(a["x"], L.tensor(TARGET)),
    "nll_loss": lambda L, F, a: F.nll_loss(a["x"], L.tensor(TARGET)),
    "mse_loss": lambda L, F, a: F.mse_loss(a["x"], a["p"]),
    "l1_loss": lambda L, F, a: F.l1_loss(a["x"], a["p"]),
    "smooth_l1_loss": lambda L, F, a: F.smooth_l1_loss(a["x"], a["p"]),
    "huber_loss": lambda L, F, a: F.huber_loss(a["x"], a["p"]),
    "kl_div": lambda L, F, a: F.kl_div(a["x"], a["p"], reduction="batchmean"),
    "binary_cross_entropy": lambda L, F, a: F.binary_cross_entropy(a["p"], a["p"]),
    "bce_with_logits": lambda L, F, a: F.binary_cross_entropy_with_logits(a["x"], a["p"]),
    "soft_margin_loss": lambda L, F, a: F.soft_margin_loss(a["x"], a["p"]),
    "margin_ranking_loss": lambda L, F, a: F.margin_ranking_loss(a["v"], a["v"], a["one"]),
    "poisson_nll_loss": lambda L, F, a: F.poisson_nll_loss(a["x"], a["p"]),
    "hinge_embedding_loss": lambda L, F, a: F.hinge_embedding_loss(a["x"], a["p"]),
    "cosine_embedding_loss": lambda L, F, a: F.cosine_embedding_loss(a["x"], a["x"], a["one"]),
    "triplet_margin_loss": lambda L, F, a: F.triplet_margin_loss(a["x"], a["x"], a["p"]),
    "layer_norm": lambda L, F, a: F.layer_norm(a["x"], (8,)),
    "group_norm": lambda L, F, a: F.group_norm(a["img"], 1),
    "batch_norm": lambda L, F, a: F.batch_norm(a["img"], L.zeros(3), L.ones(3), L.ones(3),
                                               L.zeros(3), training=True),
    "sum": lambda L, F, a: a["x"].sum(),
    "mean": lambda L, F, a: a["x"].mean(),
    "exp": lambda L, F, a: a["x"].exp(),
    "log": lambda L, F, a: a["p"].log(),
    "pow": lambda L, F, a: a["x"].pow(2),
    "relu": lambda L, F, a: F.relu(a["x"]),
    "gelu": lambda L, F, a: F.gelu(a["x"]),
    "tanh": lambda L, F, a: a["x"].tanh(),
    "max_pool2d": lambda L, F, a: F.max_pool2d(a["img"], 2),
    "avg_pool2d": lambda L, F, a: F.avg_pool2d(a["img"], 2),
    "cumsum": lambda L, F, a: a["x"].cumsum(0),
    "prod": lambda L, F, a: a["x"].prod(),
    "cdist": lambda L, F, a: L.cdist(a["x"], a["x"]),
    "logsumexp": lambda L, F, a: a["x"].logsumexp(0),
    "rsqrt": lambda L, F, a: a["p"].rsqrt(),
    "lstm": lambda L, F, a: L.nn.LSTM(8, 3, num_layers=2)(a["x3"])[0],
    "rnn": lambda L, F, a: L.nn.RNN(8, 3)(a["x3"])[0],
    "gru": lambda L, F, a: L.nn.GRU(8, 3)(a["x3"].float())[0],
    "lstm_cell": lambda L, F, a: L.nn.LSTMCell(8, 3)(a["x"].float())[0],
    "multihead_attention": lambda L, F, a: L.nn.MultiheadAttention(8, 2)(a["x3"], a["x3"],
                                                                         a["x3"])[0],
    "add_float32": lambda L, F, a: a["x"] + L.ones(4, 8),
    "cat_float32": lambda L, F, a: L.cat([a["x"], L.ones(4, 8)]),
}


def _inputs(lib, dtype):
    return {k: lib.tensor(v, dtype=getattr(lib, dtype)) for k, v in ARR.items()}


def _dtypes(lib, functional, input_dtype, low):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autocast("cpu", dtype=getattr(lib, low)):
            a = _inputs(lib, input_dtype)
            for name, fn in OPS.items():
                try:
                    out[name] = str(fn(lib, functional, a).dtype).split(".")[-1]
                except RuntimeError:  # PyTorch's oneDNN has no float16 LSTM on the CPU
                    out[name] = "error"
    return out


@pytest.mark.parity
@pytest.mark.parametrize("input_dtype", ["float32", "low"])
@pytest.mark.parametrize("low", LOW)
def test_op_dtypes_match_pytorch_cpu_autocast(low, input_dtype):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    dt = low if input_dtype == "low" else "float32"
    mine, theirs = _dtypes(torchlite, F, dt, low), _dtypes(torch, TF, dt, low)
    assert "error" not in mine.values()
    assert mine == {k: v if v != "error" else mine[k] for k, v in theirs.items()}
    assert list(theirs.values()).count("error") <= 1


def test_the_lists_say_what_pytorch_does_on_each_device():
    assert lists.CPU["linear"] == lists.CUDA["linear"] == lists.LOWER
    assert "softmax" not in lists.CPU and lists.CUDA["softmax"] == lists.FP32
    assert lists.CPU["mse_loss"] == lists.CUDA["mse_loss"] == lists.FP32
    assert lists.CUDA["exp"] == lists.CUDA["sum"] == lists.CUDA["layer_norm"] == lists.FP32
    assert "binary_cross_entropy" in lists.CUDA_BANNED


def test_the_cuda_lists_reach_the_ops(monkeypatch):
    # no GPU here: run CPU tensors through CUDA's lists to check that each op consults them
    monkeypatch.setitem(lists.POLICIES, "cpu", lists.CUDA)
    h = torchlite.randn(4, 8).half()
    float32 = {"exp": h.exp(), "log": h.abs().log(), "rsqrt": h.abs().rsqrt(), "pow": h.pow(2),
               "sum": h.sum(), "cumsum": h.cumsum(0), "prod": h.prod(), "logsumexp":
               h.logsumexp(0), "softmax": F.softmax(h, -1), "log_softmax": F.log_softmax(h, -1),
               "layer_norm": F.layer_norm(h, (8,)), "mse_loss": F.mse_loss(h, h)}
    with torchlite.autocast("cpu", dtype=torchlite.float16):
        got = {k: v.dtype for k, v in {
            "exp": h.exp(), "log": h.abs().log(), "rsqrt": h.abs().rsqrt(), "pow": h.pow(2),
            "sum": h.sum(), "cumsum": h.cumsum(0), "prod": h.prod(),
            "logsumexp": h.logsumexp(0), "softmax": F.softmax(h, -1),
            "log_softmax": F.log_softmax(h, -1), "layer_norm": F.layer_norm(h, (8,)),
            "mse_loss": F.mse_loss(h, h)}.items()}
        assert h.relu().dtype == torchlite.float16  # not listed: the input's dtype
        assert F.linear(torchlite.ones(2, 8), torchlite.ones(3, 8)).dtype == torchlite.float16
    with torchlite.autocast("cuda"), pytest.raises(RuntimeError, match="unsafe to autocast"):
        state.cast("binary_cross_entropy", _CudaLike())
    assert got == dict.fromkeys(float32, torchlite.float32)
    assert all(v.dtype == torchlite.float16 for k, v in float32.items() if k != "mse_loss")


class _CudaLike(torchlite.Tensor):
    """Just enough of a CUDA tensor for the autocast lookup (no GPU here)."""

    def __init__(self) -> None:
        pass

    @property
    def _device(self):
        return type("D", (), {"type": "cuda"})()


def test_regions_nest_and_restore():
    lin = nn.Linear(4, 4)
    x = torchlite.ones(2, 4)
    assert not torchlite.is_autocast_enabled("cpu") and not state.on
    with torchlite.autocast("cpu"):
        assert torchlite.is_autocast_enabled("cpu")
        assert torchlite.get_autocast_dtype("cpu") == torchlite.bfloat16
        assert lin(x).dtype == torchlite.bfloat16
        with torchlite.autocast("cpu", enabled=False):
            assert lin(x).dtype == torchlite.float32 and not state.on
        with torchlite.autocast("cpu", dtype=torchlite.float16):
            assert lin(x).dtype == torchlite.float16
        assert lin(x).dtype == torchlite.bfloat16
    assert lin(x).dtype == torchlite.float32 and not state.on and not state.cache


def test_a_cuda_region_leaves_cpu_tensors_alone():
    with torchlite.autocast("cuda"):
        assert torchlite.is_autocast_enabled("cuda")
        assert nn.Linear(3, 3)(torchlite.ones(1, 3)).dtype == torchlite.float32
    assert not torchlite.is_autocast_enabled()


def test_decorator_and_device_spellings():
    lin = nn.Linear(4, 4)

    @torchlite.autocast("cpu", dtype=torchlite.float16)
    def forward(x):
        return lin(x)

    assert forward(torchlite.ones(1, 4)).dtype == torchlite.float16
    assert not state.on
    with torchlite.cpu.amp.autocast():
        assert lin(torchlite.ones(1, 4)).dtype == torchlite.bfloat16
    with torchlite.amp.autocast("cpu", dtype=torchlite.float16):
        assert lin(torchlite.ones(1, 4)).dtype == torchlite.float16
    from torchlite.cpu.amp import autocast as cpu_autocast
    from torchlite.cuda.amp import autocast as cuda_autocast

    assert cpu_autocast is torchlite.cpu.amp.autocast
    assert cuda_autocast().fast_dtype == torchlite.float16


def test_unsupported_dtypes_warn_and_disable():
    with pytest.warns(UserWarning, match="Disabling autocast"):
        region = torchlite.autocast("cpu", dtype=torchlite.float64)
    with region:
        assert not state.on
    with pytest.warns(UserWarning, match="Disabling autocast"):
        torchlite.autocast("cuda", dtype=torchlite.bfloat16)  # CuPy has no bfloat16
    with pytest.raises(RuntimeError, match="device_type"):
        torchlite.autocast("mps")


def test_weight_cast_is_cached_per_region(monkeypatch):
    from torchlite.ops import half_linear

    monkeypatch.setattr(half_linear, "ENABLED", False)  # the unfused ops' cache (fused: its own)
    lin = nn.Linear(4, 4)
    x = torchlite.ones(2, 4)
    with torchlite.autocast("cpu"):
        lin(x)
        first = state.cache[id(lin.weight)][1]
        assert first.dtype == torchlite.bfloat16 and first.requires_grad
        lin(x)
        assert state.cache[id(lin.weight)][1] is first
    assert state.cache == {}
    with torchlite.autocast("cpu", cache_enabled=False):
        lin(x)
        assert state.cache == {}


def test_gradients_reach_float32_master_weights():
    torchlite.manual_seed(0)
    lin = nn.Linear(8, 3)
    x = torchlite.randn(5, 8)
    t = torchlite.tensor([0, 1, 2, 0, 1])
    with torchlite.autocast("cpu"):
        out = lin(x)
        loss = F.cross_entropy(out, t)
    assert out.dtype == torchlite.bfloat16 and loss.dtype == torchlite.float32
    loss.backward()
    assert lin.weight.grad.dtype == torchlite.float32 and lin.bias.grad.dtype == torchlite.float32
    ref = nn.Linear(8, 3)
    ref.load_state_dict(lin.state_dict())
    F.cross_entropy(ref(x), t).backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), ref.weight.grad.numpy(), atol=0.02)


@pytest.mark.parity
def test_mixed_step_matches_pytorch():
    torch = pytest.importorskip("torch")
    w = RNG.standard_normal((3, 8)).astype(np.float32)
    x = RNG.standard_normal((5, 8)).astype(np.float32)
    t = np.array([0, 1, 2, 0, 1])
    grads = []
    for lib, functional in ((torchlite, F), (torch, torch.nn.functional)):
        wt = lib.tensor(w, requires_grad=True)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            out = functional.linear(lib.tensor(x), wt)
            loss = functional.cross_entropy(out, lib.tensor(t))
        loss.backward()
        grads.append((out.float().detach().numpy(), float(loss), wt.grad.numpy()))
    (o1, l1, g1), (o2, l2, g2) = grads
    np.testing.assert_array_equal(o1, o2)  # bfloat16 products of bfloat16 inputs: same rounding
    assert l1 == pytest.approx(l2, rel=1e-6)
    np.testing.assert_allclose(g1, g2, rtol=1e-2, atol=1e-3)


def test_custom_fwd_and_bwd():
    seen = {}

    class Square(torchlite.autograd.Function):
        @staticmethod
        @torchlite.amp.custom_fwd(device_type="cpu", cast_inputs=torchlite.float32)
        def forward(ctx, x):
            seen["fwd"] = (x.dtype, state.on)
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @torchlite.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = torchlite.is_autocast_enabled("cpu")
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = torchlite.ones(3, dtype=torchlite.bfloat16, requires_grad=True)
    with torchlite.autocast("cpu"):
        y = Square.apply(x)
    assert seen["fwd"] == (torchlite.float32, False) and y.dtype == torchlite.float32
    y.sum().backward()
    assert seen["bwd"] is True and x.grad.dtype == torchlite.bfloat16
