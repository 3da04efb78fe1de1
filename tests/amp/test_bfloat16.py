"""torchlite.bfloat16 and float16 as dtypes: creation, casts, finfo, PyTorch's promotion table."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn

pytest.importorskip("ml_dtypes", reason="bfloat16 needs the bf16 extra (ml_dtypes)")

LOW = [torchlite.float16, torchlite.bfloat16]
ALL = [torchlite.bool, torchlite.uint8, torchlite.int8, torchlite.int16, torchlite.int32,
       torchlite.int64, torchlite.float16, torchlite.bfloat16, torchlite.float32,
       torchlite.float64]


def test_import_torchlite_does_not_import_ml_dtypes():
    code = ("import sys, torchlite; x = torchlite.bfloat16; print(repr(x)); "
            "assert 'ml_dtypes' not in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "torch.bfloat16"


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_creation_and_casts(dtype):
    name = dtype.name
    for t in (torchlite.zeros(2, 3, dtype=dtype), torchlite.ones(2, dtype=dtype),
              torchlite.full((2,), 1.5, dtype=dtype), torchlite.randn(3, dtype=dtype),
              torchlite.rand(3, dtype=dtype), torchlite.arange(0, 3, dtype=dtype),
              torchlite.tensor([1.0, 2.5], dtype=dtype), torchlite.empty(2, dtype=dtype),
              torchlite.linspace(0, 1, 5, dtype=dtype), torchlite.eye(2, dtype=dtype),
              torchlite.ones(3).to(dtype), torchlite.ones(3, dtype=name),
              torchlite.ones(3).to(dtype=dtype), torchlite.ones(3).type(dtype)):
        assert t.dtype == dtype and t.is_floating_point()
    x = torchlite.tensor([1.0, 2.5, -3.0])
    assert x.bfloat16().dtype == torchlite.bfloat16 and x.half().dtype == torchlite.float16
    assert x.to(dtype).float().tolist() == [1.0, 2.5, -3.0]
    assert torchlite.zeros_like(x, dtype=dtype).dtype == dtype
    assert x.to(dtype).new_zeros(2).dtype == dtype
    assert x.to(dtype).element_size() == 2
    assert torchlite.ones(2, dtype=dtype, requires_grad=True).requires_grad


def test_module_bfloat16_and_half():
    m = nn.Linear(3, 2).bfloat16()
    assert {p.dtype for p in m.parameters()} == {torchlite.bfloat16}
    assert m(torchlite.ones(4, 3, dtype=torchlite.bfloat16)).dtype == torchlite.bfloat16
    assert {p.dtype for p in m.half().parameters()} == {torchlite.float16}
    assert {p.dtype for p in m.float().parameters()} == {torchlite.float32}


def test_bfloat16_rounds_to_nearest_even():
    # 1 + 2**-8 lies halfway between bfloat16's 1 and 1 + 2**-7: it rounds to the even one, 1
    x = torchlite.tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8], dtype=torchlite.float64)
    assert x.bfloat16().double().tolist() == [1.0, 1 + 2 ** -6]


def test_dtype_names_and_from_numpy():
    import ml_dtypes

    assert torchlite.bfloat16.is_floating_point and torchlite.bfloat16.itemsize == 2
    arr = np.ones(3, dtype=ml_dtypes.bfloat16)
    assert torchlite.from_numpy(arr).dtype == torchlite.bfloat16
    assert torchlite.tensor(arr).dtype == torchlite.bfloat16


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_finfo(dtype):
    f = torchlite.finfo(dtype)
    expected = {"float16": (2 ** -10, 65504.0, 2 ** -14, 16),
                "bfloat16": (2 ** -7, 3.3895313892515355e38, 2 ** -126, 16)}[dtype.name]
    assert (f.eps, f.max, f.tiny, f.bits) == expected
    assert f.min == -f.max and f.dtype == dtype.name


@pytest.mark.parity
@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_finfo_matches_pytorch(dtype):
    torch = pytest.importorskip("torch")
    mine, theirs = torchlite.finfo(dtype), torch.finfo(getattr(torch, dtype.name))
    for attr in ("eps", "max", "min", "tiny", "smallest_normal", "bits"):
        assert getattr(mine, attr) == getattr(theirs, attr), attr
    assert mine.resolution == pytest.approx(theirs.resolution, rel=0.01)


def _operand(dtype, kind):
    if kind == "dim":
        return torchlite.ones(2, dtype=dtype)
    return torchlite.ones((), dtype=dtype)


@pytest.mark.parity
def test_promotion_table_matches_pytorch():
    torch = pytest.importorskip("torch")
    mismatches = []
    for a, b in itertools.product(ALL, repeat=2):
        if a not in LOW and b not in LOW:
            continue
        for ka, kb in (("dim", "dim"), ("dim", "zero"), ("zero", "dim"), ("zero", "zero")):
            mine = (_operand(a, ka) + _operand(b, kb)).dtype.name
            ta = torch.ones(2 if ka == "dim" else (), dtype=getattr(torch, a.name))
            tb = torch.ones(2 if kb == "dim" else (), dtype=getattr(torch, b.name))
            theirs = str((ta + tb).dtype).removeprefix("torch.")
            if mine != theirs:
                mismatches.append((a.name, ka, b.name, kb, mine, theirs))
    for d in LOW:  # Python scalars
        t = torchlite.ones(2, dtype=d)
        tt = torch.ones(2, dtype=getattr(torch, d.name))
        for s in (2, 2.5, True):
            if (t * s).dtype.name != str((tt * s).dtype).removeprefix("torch."):
                mismatches.append((d.name, s))
    assert mismatches == []


def test_low_precision_mixes_promote_as_pytorch():
    bf, h = torchlite.ones(2, dtype=torchlite.bfloat16), torchlite.ones(2, dtype=torchlite.float16)
    assert (bf + h).dtype == torchlite.float32
    assert (bf + torchlite.ones(2)).dtype == torchlite.float32
    assert (bf + torchlite.ones(2, dtype=torchlite.int64)).dtype == torchlite.bfloat16
    assert (bf * 2.5).dtype == torchlite.bfloat16
    assert torchlite.cat([bf, h]).dtype == torchlite.float32


def test_bfloat16_on_cuda_is_refused_clearly():
    from torchlite import backend

    with pytest.raises(TypeError, match="CuPy has no bfloat16"):
        backend.move(np.ones(2, dtype=torchlite.bfloat16.np), backend.device("cuda"))


OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "ASGD", "NAdam", "RAdam",
              "RMSprop", "Rprop"]


def _optimize(lib, name: str, dtype: str) -> np.ndarray:
    p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0, 0.5], dtype=getattr(lib, dtype)))
    kw = {} if name == "Adadelta" else {"lr": 0.1}
    if dtype == "float16" and name not in ("SGD", "ASGD", "Rprop", "Adadelta"):
        kw["eps"] = 1e-4  # the default 1e-8 is 0 in float16, in PyTorch too
    opt = getattr(lib.optim, name)([p], **kw)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert p.dtype == getattr(lib, dtype)
    return p.detach().float().numpy()


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_step_low_precision_parameters_as_pytorch(name, dtype):
    torch = pytest.importorskip("torch")
    mine, theirs = _optimize(torchlite, name, dtype), _optimize(torch, name, dtype)
    # one rounding of the low dtype apart at most (PyTorch's CPU kernels keep some
    # intermediates in float32)
    np.testing.assert_allclose(mine, theirs, rtol=2 ** -6, atol=2 ** -6)


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_reductions_accumulate_in_float32(dtype):
    # ml_dtypes' own bfloat16 sum accumulates in bfloat16 (10000 ones give 256)
    a = torchlite.ones(10000, dtype=dtype)
    want = 9984.0 if dtype == torchlite.bfloat16 else 10000.0  # 10000 rounded to the dtype
    assert a.sum().item() == want and a.cumsum(0)[-1].item() == want
    assert a.mean().item() == 1.0 and a.var().item() == 0.0 and a.norm().item() == 100.0
    assert a.sum().dtype == a.mean().dtype == a.cumsum(0).dtype == dtype
    x = torchlite.ones(300, dtype=dtype, requires_grad=True)
    x.logsumexp(0).backward()
    assert x.grad.dtype == dtype


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("layer", ["LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"])
def test_recurrent_layers_keep_the_dtype(layer, dtype):
    torchlite.manual_seed(0)
    m = getattr(nn, layer)(4, 3).to(dtype)
    x = torchlite.randn(*((5, 2, 4) if "Cell" not in layer else (2, 4))).to(dtype)
    out = m(x)
    out = out[0] if isinstance(out, tuple) else out
    assert out.dtype == dtype
    out.float().sum().backward()
    assert {p.grad.dtype for p in m.parameters()} == {dtype}
    ref = getattr(nn, layer)(4, 3)
    ref.load_state_dict({k: v.float() for k, v in m.state_dict().items()})
    want = ref(x.float())
    want = want[0] if isinstance(want, tuple) else want
    np.testing.assert_allclose(out.float().detach().numpy(), want.detach().numpy(), atol=0.03)
