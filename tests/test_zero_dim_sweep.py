"""0-d tensors through the ops, against PyTorch: shapes, values and gradients (a 0-d tensor is
a dimension of one element for dim=0/-1 reductions, scans, sorts, gather and nonzero)."""

import warnings

import numpy as np
import pytest

import torchlite as tl

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch", reason="parity tests need torch (the dev extra)")

OPS = {
    "nonzero": lambda m, x: m.nonzero(x),
    "nonzero_tuple": lambda m, x: m.nonzero(x, as_tuple=True)[0],
    "argwhere": lambda m, x: m.argwhere(x),
    "cumprod": lambda m, x: m.cumprod(x,0),
    "cumsum": lambda m, x: m.cumsum(x,0),
    "cummax": lambda m, x: m.cummax(x,0)[0],
    "logcumsumexp": lambda m, x: m.logcumsumexp(x,0),
    "prod0": lambda m, x: m.prod(x,0),
    "prod": lambda m, x: m.prod(x),
    "sum0": lambda m, x: m.sum(x,0),
    "mean0": lambda m, x: x.mean(0),
    "max0": lambda m, x: m.max(x,0)[0],
    "min0": lambda m, x: m.min(x,0)[0],
    "amax": lambda m, x: m.amax(x,0),
    "argmax0": lambda m, x: m.argmax(x,0),
    "argmax": lambda m, x: m.argmax(x),
    "std": lambda m, x: x.std(),
    "var0": lambda m, x: x.var(0, unbiased=False),
    "norm": lambda m, x: x.norm(),
    "logsumexp": lambda m, x: m.logsumexp(x,0),
    "softmax": lambda m, x: m.softmax(x,0),
    "log_softmax": lambda m, x: m.log_softmax(x,0),
    "einsum": lambda m, x: m.einsum('->', x),
    "einsum2": lambda m, x: m.einsum(',->', x, x),
    "sort": lambda m, x: m.sort(x)[0],
    "argsort": lambda m, x: m.argsort(x),
    "topk": lambda m, x: m.topk(x,1)[0],
    "flip": lambda m, x: m.flip(x,[0]),
    "roll": lambda m, x: m.roll(x,1),
    "unsqueeze": lambda m, x: x.unsqueeze(0),
    "squeeze": lambda m, x: x.squeeze(),
    "squeeze0": lambda m, x: x.squeeze(0),
    "flatten": lambda m, x: x.flatten(),
    "reshape": lambda m, x: x.reshape(1,1),
    "view": lambda m, x: x.view(-1),
    "expand": lambda m, x: x.expand(3),
    "repeat": lambda m, x: x.repeat(2),
    "t": lambda m, x: x.t(),
    "T": lambda m, x: x.T,
    "transpose": lambda m, x: x.transpose(0,-1),
    "stack": lambda m, x: m.stack([x,x]),
    "cat1": lambda m, x: m.cat([x.unsqueeze(0)]),
    "diff": lambda m, x: m.diff(x.unsqueeze(0)),
    "where": lambda m, x: m.where(x>0, x, -x),
    "clamp": lambda m, x: x.clamp(0,1),
    "abs": lambda m, x: x.abs(),
    "matmul": lambda m, x: m.matmul(x.reshape(1), x.reshape(1)),
    "dot": lambda m, x: m.dot(x.reshape(1),x.reshape(1)),
    "gather": lambda m, x: m.gather(x,0,m.tensor(0)),
    "index_select": lambda m, x: m.index_select(x,0,m.tensor([0])),
    "masked_fill": lambda m, x: x.masked_fill(x>0, 0.),
    "masked_select": lambda m, x: m.masked_select(x, x>0),
    "take": lambda m, x: m.take(x, m.tensor([0])),
    "kthvalue": lambda m, x: m.kthvalue(x,1)[0],
    "median": lambda m, x: m.median(x),
    "median0": lambda m, x: m.median(x,0)[0],
    "any": lambda m, x: (x>0).any(0),
    "all": lambda m, x: (x>0).all(),
    "count_nonzero": lambda m, x: m.count_nonzero(x),
    "chunk": lambda m, x: m.cat(m.chunk(x.unsqueeze(0),1)),
    "tril": lambda m, x: x.reshape(1,1).tril(),
    "outer": lambda m, x: m.outer(x.reshape(1), x.reshape(1)),
    "cross_entropy": lambda m, x: m.nn.functional.mse_loss(x, x*0),
    "item": lambda m, x: m.tensor(x.item()),
    "clone": lambda m, x: x.clone(),
    "new_tensor": lambda m, x: x.new_zeros(()),
    "pow": lambda m, x: x**2,
    "std_mean": lambda m, x: m.std_mean(x)[1],
    "aminmax": lambda m, x: m.aminmax(x)[0],
    "cumsum_neg": lambda m, x: m.cumsum(x,-1),
    "narrow": lambda m, x: x.unsqueeze(0).narrow(0,0,1),
    "movedim": lambda m, x: m.movedim(x,0,0),
    "select_after": lambda m, x: x.unsqueeze(0)[0],
    "scatter": lambda m, x: m.zeros(()).scatter(0, m.tensor(0), x),
    "index_add": lambda m, x: m.zeros(()).index_add(0, m.tensor([0]), x),
    "lerp": lambda m, x: m.lerp(x, x*2, 0.5),
    "sign": lambda m, x: x.sign(),
}


def _run(m, f, x):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return f(m, x), None
    except Exception as exc:  # noqa: BLE001 - compared with PyTorch's outcome below
        return None, exc


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("v", [2.5, -1.5, 0.0])
def test_zero_dim_input_matches_torch(name, v):
    f = OPS[name]
    xt = torch.tensor(v, dtype=torch.float64, requires_grad=True)
    xl = tl.tensor(v, dtype=tl.float64, requires_grad=True)
    rt, et = _run(torch, f, xt)
    rl, el = _run(tl, f, xl)
    assert (et is None) == (el is None), (et, el)
    if et is not None:
        return
    assert tuple(rl.shape) == tuple(rt.shape)
    np.testing.assert_allclose(rl.detach().numpy(), rt.detach().numpy())
    if rt.requires_grad and rt.dtype.is_floating_point:
        rt.sum().backward()
        rl.sum().backward()
        assert (xt.grad is None) == (xl.grad is None)
        if xt.grad is not None:
            assert tuple(xl.grad.shape) == ()
            np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy())
