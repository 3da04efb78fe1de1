"""torchlite/onnx/converters/shape.py and reduce.py: reshape/flatten/view (with the batch
size computed at run time), permute, cat, slicing, indexing, padding, reductions."""

import pytest
from _onnx_roundtrip import export_bytes, require_extra, roundtrip, session

import torchlite
from torchlite import nn

require_extra()


def _x(*shape):
    torchlite.manual_seed(0)
    return torchlite.randn(*shape)


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


SHAPE_OPS = {
    "view_batch": lambda x: x.view(x.size(0), -1),
    "reshape_merge_batch": lambda x: x.reshape(-1, x.shape[-1]) * 2,
    "reshape_two_batch_dims": lambda x: x.reshape(x.shape[0], 2, -1).reshape(-1, 3, 4, 5),
    "flatten": lambda x: torchlite.flatten(x, 1),
    "permute": lambda x: x.permute(2, 0, 3, 1).contiguous(),
    "transpose_t": lambda x: x.transpose(1, 3),
    "unsqueeze_squeeze": lambda x: x.unsqueeze(1).squeeze(1).unsqueeze(-1),
    "cat_stack": lambda x: torchlite.cat([x, x * 2], dim=1) + torchlite.stack([x, x], 1).sum(1)
    .repeat(1, 2, 1, 1),
    "split_chunk": lambda x: x.chunk(2, dim=2)[1] - x.split([1, 3], dim=2)[0].sum(2, True),
    "slicing": lambda x: x[:, 1:, ::2, -1] + x[:, :2, 0, 1:4].sum(),
    "slice_to_batch_end": lambda x: x[1:] if x.shape[0] > 1 else x,
    "negative_index_and_none": lambda x: x[..., -2, None] * x[:, None, 0],
    "index_select_gather": lambda x: x.index_select(3, torchlite.tensor([4, 0, 1, 2, 3]))
    + torchlite.gather(x, 3, torchlite.zeros(x.shape[:3] + (5,), dtype=torchlite.int64)),
    "advanced_index": lambda x: x[:, [2, 0, 1]],
    "expand": lambda x: x[:, :1].expand(-1, 3, -1, -1) + x.mean(1, keepdim=True).expand_as(x),
    "flip_roll": lambda x: x.flip(1, 3) + x.roll(2, dims=3),
    "pad": lambda x: nn.functional.pad(x, (1, 2, 0, 1), value=0.5)
    + nn.functional.pad(x, (2, 1, 1, 0), mode="reflect").mean(),
    "tril_triu": lambda x: x.tril(1) - x.triu(-1),
}


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_shape_op(name):
    roundtrip(Lambda(SHAPE_OPS[name]), _x(2, 3, 4, 5), other=5)


REDUCTIONS = {
    "sum": lambda x: x.sum() + x.sum(1).sum(-1, keepdim=True).sum((1, 2)).mean(),
    "mean_var_std": lambda x: x.mean(-1) + x.var(2, keepdim=False).sum(-1, True)
    + x.std(-1, unbiased=False),
    "max_min": lambda x: x.max(dim=1)[0].sum((1, 2)) - x.min(-1, keepdim=True)[0].sum((1, 2, 3))
    + x.amax((1, 2)).sum(-1) + x.amin(-1).sum((1, 2)),
    "logsumexp_norm": lambda x: x.logsumexp(-1) + x.norm(dim=-1) + x.prod(3),
    "cumsum": lambda x: x.cumsum(2),
}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction(name):
    roundtrip(Lambda(REDUCTIONS[name]), _x(2, 3, 4, 5), other=4)


def test_reshape_with_batch_runs_at_other_batch_sizes():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(64, 3))
    x = _x(1, 1, 4, 4)
    data = export_bytes(net.eval(), (x,), input_names=["x"], dynamic_axes={"x": [0]})
    sess = session(data)
    for n in (1, 2, 7):
        xb = torchlite.randn(n, 1, 4, 4)
        (got,) = sess.run(None, {"x": xb.numpy()})
        assert got.shape == (n, 3)
        with torchlite.no_grad():
            assert abs(got - net(xb).numpy()).max() < 1e-5


def test_opsets_14_and_18_write_reductions_in_their_own_form():
    net = Lambda(lambda x: x.mean(1) + x.amax(1))
    for opset in (14, 18, 21):
        roundtrip(net, _x(3, 4), opset_version=opset)
