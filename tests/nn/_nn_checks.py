"""Helpers for the nn tests: float64 gradchecks of modules and float32 parity with PyTorch."""

from __future__ import annotations

import numpy as np

import torchlite
from torchlite.autograd import gradcheck


def rnd(shape, seed=0, low=-2.0, high=2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def t64(a, requires_grad=True) -> torchlite.Tensor:
    return torchlite.tensor(np.asarray(a, dtype=np.float64), dtype=torchlite.float64,
                            requires_grad=requires_grad)


def t32(a, requires_grad=False) -> torchlite.Tensor:
    return torchlite.tensor(np.asarray(a, dtype=np.float32), requires_grad=requires_grad)


def npy(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def check_module_grads(module, *inputs, **kwargs) -> None:
    """gradcheck a float64 module w.r.t. its float inputs and all its parameters."""
    module.double()
    params = [p for p in module.parameters() if p.requires_grad]
    n = len(inputs)

    def fn(*args):
        return module(*args[:n])

    assert gradcheck(fn, [*inputs, *params], **kwargs)


def check_fn_grads(fn, *inputs, **kwargs) -> None:
    assert gradcheck(fn, list(inputs), **kwargs)


def copy_to_torch(module, torch_module) -> None:
    """Load torchlite's state_dict into the PyTorch module (the layouts must agree)."""
    import torch

    sd = {k: torch.from_numpy(npy(v).copy()) for k, v in module.state_dict().items()}
    torch_module.load_state_dict(sd, strict=True)


def parity(module, torch_module, *arrays, atol=1e-5, rtol=1e-5, grad=True, seed=7) -> None:
    """Same weights, same float32 inputs: outputs, input grads and parameter grads agree."""
    import torch

    copy_to_torch(module, torch_module)
    float_mask = [np.asarray(a).dtype.kind == "f" for a in arrays]
    ours = [torchlite.tensor(np.asarray(a), requires_grad=f and grad)
            for a, f in zip(arrays, float_mask)]
    theirs = [torch.tensor(np.asarray(a), requires_grad=f and grad)
              for a, f in zip(arrays, float_mask)]
    out = module(*ours)
    ref = torch_module(*theirs)
    np.testing.assert_allclose(npy(out), ref.detach().numpy(), atol=atol, rtol=rtol)
    assert out.dtype == torchlite.float32
    if not grad:
        return
    w = np.random.default_rng(seed).uniform(0.5, 1.5, size=tuple(out.shape)).astype(np.float32)
    (out * torchlite.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for a, b, f in zip(ours, theirs, float_mask):
        if f:
            np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), atol=atol, rtol=rtol)
    theirs_p = dict(torch_module.named_parameters())
    for name, p in module.named_parameters():
        if p.grad is None:
            assert theirs_p[name].grad is None or not theirs_p[name].grad.any(), name
            continue
        np.testing.assert_allclose(npy(p.grad), theirs_p[name].grad.numpy(), atol=atol,
                                   rtol=rtol, err_msg=name)
    for name, b in module.named_buffers():
        tb = dict(torch_module.named_buffers())[name]
        np.testing.assert_allclose(npy(b), tb.numpy(), atol=atol, rtol=rtol, err_msg=name)


def layout(module) -> dict:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}
