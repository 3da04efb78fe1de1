"""affine_grid and grid_sample: identity maps, corners, padding modes, gradients, parity."""

import numpy as np
import pytest
from _nn_checks import check_fn_grads, npy, rnd, t64

import torchlite
import torchlite.nn.functional as F

IDENTITY = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])


@pytest.mark.parametrize("align_corners", [False, True])
def test_identity_grid_reproduces_the_input(align_corners):
    x = rnd((1, 2, 5, 6), 0)
    grid = F.affine_grid(t64(IDENTITY, False), (1, 2, 5, 6), align_corners=align_corners)
    assert tuple(grid.shape) == (1, 5, 6, 2)
    for mode in ("bilinear", "nearest"):
        out = F.grid_sample(t64(x, False), grid, mode=mode, align_corners=align_corners)
        np.testing.assert_allclose(npy(out), x, atol=1e-12)


def test_padding_modes_outside_the_image():
    x = t64(np.arange(4.0).reshape(1, 1, 2, 2), False)
    far = t64(np.array([[[[3.0, 0.0]]]]), False)  # far right of the image, middle row
    assert F.grid_sample(x, far, align_corners=True).item() == 0.0
    assert F.grid_sample(x, far, padding_mode="border", align_corners=True).item() == 2.0
    assert F.grid_sample(x, far, padding_mode="reflection", align_corners=True).item() == 1.0
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(x, far, padding_mode="wrap")


def test_gradients_reach_input_grid_and_theta():
    x = t64(rnd((1, 2, 4, 5), 1))
    g = t64(rnd((1, 3, 2, 2), 2, -0.9, 0.9))
    for pm in ("zeros", "border", "reflection"):
        check_fn_grads(lambda a, b, pm=pm: F.grid_sample(a, b, padding_mode=pm), x, g)
    theta = t64(IDENTITY + rnd((1, 2, 3), 3, -0.2, 0.2))
    check_fn_grads(lambda t: F.affine_grid(t, (1, 2, 3, 4)), theta)
    assert torchlite.autograd.gradgradcheck(lambda a, b: F.grid_sample(a, b) ** 2, [x, g])


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    r = np.random.default_rng(0)
    x, g = r.normal(size=(2, 3, 5, 6)), r.uniform(-1.4, 1.4, (2, 4, 7, 2))
    for mode in ("bilinear", "nearest"):
        for pm in ("zeros", "border", "reflection"):
            for ac in (False, True):
                ours = [t64(x), t64(g)]
                theirs = [torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)]
                o = F.grid_sample(*ours, mode=mode, padding_mode=pm, align_corners=ac)
                t = tf.grid_sample(*theirs, mode=mode, padding_mode=pm, align_corners=ac)
                np.testing.assert_allclose(npy(o), t.detach().numpy(), atol=1e-12)
                o.sum().backward()
                t.sum().backward()
                np.testing.assert_allclose(npy(ours[0].grad), theirs[0].grad.numpy(), atol=1e-12)
                mine = npy(ours[1].grad) if ours[1].grad is not None else 0 * g
                np.testing.assert_allclose(mine, theirs[1].grad.numpy(), atol=1e-10)
    th = r.normal(size=(2, 3, 4))
    np.testing.assert_allclose(npy(F.affine_grid(t64(th, False), (2, 1, 3, 4, 5))),
                               tf.affine_grid(torch.tensor(th), (2, 1, 3, 4, 5),
                                              align_corners=False).numpy(), atol=1e-12)
