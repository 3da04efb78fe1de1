"""Quantized tensors: int_repr bit for bit against PyTorch, qparams, repr, dequantize, and the
fake-quantize ops with their straight-through gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import torchlite as tl


def _torch():
    torch = pytest.importorskip("torch", reason="parity tests need torch")
    warnings.filterwarnings("ignore", message=".*quantized tensor creation.*")
    return torch


def _inputs(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(20000) * 3).astype(np.float32)
    x[:2000] = np.round(x[:2000] * 4) / 4  # exact halves of the scales below: ties to even
    x[2000:2010] = [1e9, -1e9, 0.0, -0.0, 127.5, -128.5, 255.5, 0.5, -0.5, 1.5]
    return x


@pytest.mark.parity
@pytest.mark.parametrize("seed", range(4))
def test_quantize_per_tensor_int_repr_equals_torch(seed):
    torch = _torch()
    x = _inputs(seed)
    rng = np.random.default_rng(100 + seed)
    for scale in (0.5, 0.25, float(rng.uniform(0.001, 0.3))):
        for name, zp in (("quint8", int(rng.integers(0, 256))),
                         ("qint8", int(rng.integers(-128, 128))),
                         ("qint32", int(rng.integers(-1000, 1000)))):
            want = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp,
                                             getattr(torch, name)).int_repr().numpy()
            q = tl.quantize_per_tensor(tl.from_numpy(x), scale, zp, getattr(tl, name))
            np.testing.assert_array_equal(q.int_repr().numpy(), want)
            assert q.q_scale() == scale and q.q_zero_point() == zp
            if name == "qint32":  # PyTorch's int32 (q - zp) wraps around at saturated values
                continue
            tq = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, getattr(torch, name))
            np.testing.assert_array_equal(q.dequantize().numpy(), tq.dequantize().numpy())


@pytest.mark.parity
def test_quantize_per_channel_int_repr_equals_torch():
    torch = _torch()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((6, 5, 7)) * 2).astype(np.float32)
    x[0, 0, :3] = [0.05, 0.15, -0.25]
    for axis in (0, 1, 2):
        n = x.shape[axis]
        scales = rng.uniform(0.01, 0.2, n)
        scales[0] = 0.1
        zps = rng.integers(-20, 20, n)
        for name in ("qint8", "quint8"):
            z = zps + (128 if name == "quint8" else 0)
            want = torch.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(scales),
                                              torch.from_numpy(z), axis, getattr(torch, name))
            q = tl.quantize_per_channel(tl.from_numpy(x), tl.from_numpy(scales),
                                        tl.from_numpy(z), axis, getattr(tl, name))
            np.testing.assert_array_equal(q.int_repr().numpy(), want.int_repr().numpy())
            np.testing.assert_allclose(q.dequantize().numpy(), want.dequantize().numpy(),
                                       rtol=1e-6, atol=1e-7)
            assert q.q_per_channel_axis() == axis
            np.testing.assert_array_equal(q.q_per_channel_zero_points().numpy(), z)


def test_qtensor_metadata_and_errors():
    x = tl.tensor([-1.0, 0.0, 1.0, 2.0, 0.25, 0.75, 1e9])
    q = tl.quantize_per_tensor(x, 0.5, 8, tl.quint8)
    assert q.is_quantized and not x.is_quantized
    assert q.dtype is tl.quint8 and q.qscheme() is tl.per_tensor_affine
    assert q.int_repr().tolist() == [6, 8, 10, 12, 8, 10, 255]  # 0.5 and 1.5 round to even
    assert q.dequantize().tolist() == [-1.0, 0.0, 1.0, 2.0, 0.0, 1.0, 123.5]
    assert x.dequantize() is x
    assert q.reshape(7, 1).shape == (7, 1) and q[2:4].int_repr().tolist() == [10, 12]
    with pytest.raises(RuntimeError, match="per-channel"):
        q.q_per_channel_scales()
    with pytest.raises(RuntimeError, match="zero_point"):
        tl.quantize_per_tensor(x, 0.5, 300, tl.quint8)
    with pytest.raises(RuntimeError, match="quantized dtype"):
        tl.quantize_per_tensor(x, 0.5, 0, tl.int8)
    with pytest.raises(TypeError, match="int_repr"):
        q.numpy()


@pytest.mark.parity
def test_repr_like_torch():
    torch = _torch()
    x = [-1.0, 0.0, 1.0, 2.0, 0.25, 0.75, 1e9]
    want = repr(torch.quantize_per_tensor(torch.tensor(x), 0.5, 8, torch.quint8))
    got = repr(tl.quantize_per_tensor(tl.tensor(x), 0.5, 8, tl.quint8))
    assert got == want
    w = [[0.0, 1.6], [-0.3, -0.32]]
    want = repr(torch.quantize_per_channel(torch.tensor(w), torch.tensor([0.1, 0.01]),
                                           torch.tensor([0, 0]), 0, torch.qint8))
    got = repr(tl.quantize_per_channel(tl.tensor(w), tl.tensor([0.1, 0.01]), tl.tensor([0, 0]),
                                       0, tl.qint8))
    assert got == want


@pytest.mark.parity
def test_fake_quantize_values_and_straight_through_grad_equal_torch():
    torch = _torch()
    x = _inputs(1)[:5000] / 10
    t = torch.from_numpy(x).requires_grad_()
    ft = torch.fake_quantize_per_tensor_affine(t, 0.05, 10, 0, 127)
    ft.backward(torch.ones_like(ft))
    lt = tl.from_numpy(x.copy()).requires_grad_()
    fl = tl.fake_quantize_per_tensor_affine(lt, 0.05, 10, 0, 127)
    fl.backward(tl.ones_like(fl))
    np.testing.assert_array_equal(fl.detach().numpy(), ft.detach().numpy())
    np.testing.assert_array_equal(lt.grad.numpy(), t.grad.numpy())

    w = (np.random.default_rng(3).standard_normal((4, 6)) * 0.3).astype(np.float32)
    s, z = np.array([0.01, 0.02, 0.005, 0.03], np.float32), np.array([0, 1, -2, 0], np.int32)
    t = torch.from_numpy(w).requires_grad_()
    ft = torch.fake_quantize_per_channel_affine(t, torch.from_numpy(s), torch.from_numpy(z), 0,
                                                -128, 127)
    ft.sum().backward()
    lt = tl.from_numpy(w.copy()).requires_grad_()
    fl = tl.fake_quantize_per_channel_affine(lt, tl.from_numpy(s), tl.from_numpy(z), 0, -128,
                                             127)
    fl.sum().backward()
    np.testing.assert_array_equal(fl.detach().numpy(), ft.detach().numpy())
    np.testing.assert_array_equal(lt.grad.numpy(), t.grad.numpy())


def test_fake_quantize_grad_is_masked_outside_range():
    x = tl.tensor([-1.0, 0.0, 0.3, 5.0], requires_grad=True)
    y = tl.fake_quantize_per_tensor_affine(x, 0.1, 0, 0, 10)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert y.detach().tolist() == pytest.approx([0.0, 0.0, 0.3, 1.0])
