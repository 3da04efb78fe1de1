"""grad_fn names as PyTorch prints them, and torch.Size's repr, against PyTorch."""

import numpy as np
import pytest

import torchlite

EXPRESSIONS = {
    "add": lambda m, x, w: x + x,
    "mul": lambda m, x, w: x * 2,
    "sum": lambda m, x, w: x.sum(),
    "sum_dim": lambda m, x, w: x.sum(0),
    "mean_dim": lambda m, x, w: x.mean(1, keepdim=True),
    "max": lambda m, x, w: x.max(),
    "max_dim": lambda m, x, w: x.max(1).values,
    "min_dim": lambda m, x, w: x.min(0)[0],
    "amin": lambda m, x, w: x.amin(0),
    "mm": lambda m, x, w: x @ w.t(),
    "dot": lambda m, x, w: x[0] @ x[1],
    "mv": lambda m, x, w: x @ x[0],
    "t": lambda m, x, w: x.t(),
    "transpose3": lambda m, x, w: x.unsqueeze(0).transpose(1, 2),
    "view": lambda m, x, w: x.view(12),
    "select": lambda m, x, w: x[0],
    "select_then_full": lambda m, x, w: x[:, 1],
    "slice": lambda m, x, w: x[1:],
    "index": lambda m, x, w: x[m.tensor([0, 2])],
    "linear": lambda m, x, w: m.nn.functional.linear(x, w, w[:, 0]),
    "linear_no_bias": lambda m, x, w: m.nn.functional.linear(x, w),
    "conv2d": lambda m, x, w: m.nn.functional.conv2d(x.reshape(1, 1, 3, 4),
                                                     w[:1, :4].reshape(1, 1, 2, 2)),
    "batch_norm": lambda m, x, w: m.nn.functional.batch_norm(x, None, None, training=True),
    "layer_norm": lambda m, x, w: m.nn.functional.layer_norm(x, (4,)),
    "cross_entropy": lambda m, x, w: m.nn.functional.cross_entropy(x, m.tensor([0, 1, 2])),
    "nll": lambda m, x, w: m.nn.functional.nll_loss(x.log_softmax(1), m.tensor([0, 1, 2])),
    "mse": lambda m, x, w: m.nn.functional.mse_loss(x, x.detach() * 0),
    "bce": lambda m, x, w: m.nn.functional.binary_cross_entropy(x.sigmoid(), x.detach() * 0),
    "bce_logits": lambda m, x, w: m.nn.functional.binary_cross_entropy_with_logits(
        x, x.detach() * 0),
    "bce_logits_none": lambda m, x, w: m.nn.functional.binary_cross_entropy_with_logits(
        x, x.detach() * 0, reduction="none"),
    "smooth_l1": lambda m, x, w: m.nn.functional.smooth_l1_loss(x, x.detach() * 0),
    "dropout": lambda m, x, w: m.nn.functional.dropout(x, 0.5),
    "to": lambda m, x, w: x.to(m.float64),
    "clamp": lambda m, x, w: x.clamp(0, 1),
    "clamp_tensor": lambda m, x, w: x.clamp(x.detach() * 0),
    "pad": lambda m, x, w: m.nn.functional.pad(x, (1, 1)),
    "logsumexp": lambda m, x, w: x.logsumexp(1),
    "square": lambda m, x, w: x.square(),
    "log1p": lambda m, x, w: x.abs().log1p(),
    "gather": lambda m, x, w: x.gather(1, m.tensor([[0], [1], [2]])),
    "index_put": lambda m, x, w: x.index_put((m.tensor([0]),), x[1]),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_grad_fn_name_matches_torch(name):
    torch = pytest.importorskip("torch", reason="parity tests need torch (the dev extra)")
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    f = EXPRESSIONS[name]
    want = f(torch, torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True))
    got = f(torchlite, torchlite.tensor(a, requires_grad=True),
            torchlite.tensor(b, requires_grad=True))
    assert got.grad_fn.name() == want.grad_fn.name()


def test_custom_function_is_named_as_pytorch_names_it():
    class Twice(torchlite.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Twice.apply(torchlite.ones(2, requires_grad=True))
    assert y.grad_fn.name() == "TwiceBackward"
    assert repr(y).endswith("grad_fn=<TwiceBackward>)")


def test_size_prints_as_torch_size():
    s = torchlite.zeros(2, 3).shape
    assert repr(s) == "torch.Size([2, 3])" and str(s) == "torch.Size([2, 3])"
    assert repr(s[1:]) == "torch.Size([3])"
    for r in (s + (1,), (1,) + s, s * 2, 2 * s):
        assert type(r) is torchlite.Size
    assert repr(s + (1,)) == "torch.Size([2, 3, 1])" and (1,) + s == (1, 2, 3)


def test_return_types_print_as_pytorchs():
    x = torchlite.arange(6.0).reshape(2, 3)
    r = x.max(1)
    assert repr(r) == ("torch.return_types.max(\nvalues=tensor([2., 5.]),\n"
                       "indices=tensor([2, 2]))")
    values, indices = r
    assert r.values is values and isinstance(r, tuple) and r._fields == ("values", "indices")
    assert repr(torchlite.aminmax(x)).startswith("torch.return_types.aminmax(\nmin=")
    assert type(torchlite.sort(x).values) is torchlite.Tensor
