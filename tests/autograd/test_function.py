"""Custom autograd Functions, PyTorch style: the ctx API, and two PyTorch tutorials that run
unchanged after `import torchlite as torch`."""

import math
import warnings

import numpy as np
import pytest
from _core_checks import check_grad, data, leaf, to_np

import torchlite
import torchlite as torch
from torchlite.autograd import Function


# -- PyTorch's "two layer net, custom function" tutorial, with `import torchlite as torch` ------
class MyReLU(torch.autograd.Function):
    """
    We can implement our own custom autograd Functions by subclassing
    torch.autograd.Function and implementing the forward and backward passes
    which operate on Tensors.
    """

    @staticmethod
    def forward(ctx, input):
        """
        In the forward pass we receive a Tensor containing the input and return
        a Tensor containing the output. ctx is a context object that can be used
        to stash information for backward computation. You can cache arbitrary
        objects for use in the backward pass using the ctx.save_for_backward method.
        """
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        """
        In the backward pass we receive a Tensor containing the gradient of the loss
        with respect to the output, and we need to compute the gradient of the loss
        with respect to the input.
        """
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


def test_myrelu_tutorial():
    torch.manual_seed(0)
    dtype = torch.float
    device = torch.device("cpu")
    # device = torch.device("cuda:0") # Uncomment this to run on GPU

    # N is batch size; D_in is input dimension;
    # H is hidden dimension; D_out is output dimension.
    N, D_in, H, D_out = 64, 1000, 100, 10

    # Create random Tensors to hold input and outputs.
    x = torch.randn(N, D_in, device=device, dtype=dtype)
    y = torch.randn(N, D_out, device=device, dtype=dtype)

    # Create random Tensors for weights.
    w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 1e-6
    losses = []
    for _t in range(100):
        # To apply our Function, we use Function.apply method. We alias this as 'relu'.
        relu = MyReLU.apply

        # Forward pass: compute predicted y using operations; we compute
        # ReLU using our custom autograd operation.
        y_pred = relu(x.mm(w1)).mm(w2)

        # Compute and print loss
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())

        # Use autograd to compute the backward pass.
        loss.backward()

        # Update weights using gradient descent
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad

            # Manually zero the gradients after updating weights
            w1.grad.zero_()
            w2.grad.zero_()
    assert losses[-1] < 0.2 * losses[0]
    assert w1.dtype == torch.float32 and w1.is_leaf and w1.requires_grad


# -- PyTorch's "polynomial, custom autograd function" tutorial ----------------------------------
class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def test_legendre_tutorial():
    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    for t in range(300):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t == 0:
            first = loss.item()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    assert first == pytest.approx(461.9026, rel=1e-4)  # PyTorch 2.13 gives these two numbers
    assert loss.item() == pytest.approx(100.7025, rel=1e-3)
    assert a.dtype == torch.float32 and a.shape == ()


# -- the ctx API -------------------------------------------------------------------------------
class ScaleShift(Function):
    @staticmethod
    def forward(ctx, x, w, shift, power=1):
        ctx.save_for_backward(x, w)
        ctx.power = power
        ctx.seen_needs = ctx.needs_input_grad
        return x * w + shift

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx = g * w if ctx.needs_input_grad[0] else None
        gw = (g * x).sum(0) if ctx.needs_input_grad[1] else None
        return gx, gw, None, None


def test_custom_function_ctx_and_gradcheck():
    x, w = data((3, 2), 1), data((2,), 2)
    check_grad(lambda a, b: ScaleShift.apply(a, b, 0.5), x, w)
    tx = leaf(x)
    tw = leaf(w, requires_grad=False)
    out = ScaleShift.apply(tx, tw, 1.0, power=2)
    assert out.grad_fn.seen_needs == (True, False, False)
    assert out.grad_fn.power == 2
    assert out.grad_fn.name() == "ScaleShiftBackward"  # PyTorch's name for a custom Function
    out.sum().backward()
    np.testing.assert_allclose(to_np(tx.grad), np.broadcast_to(w, (3, 2)))


def test_custom_function_sees_detached_tensors_and_no_graph_in_forward():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen["requires_grad"] = x.requires_grad
            seen["grad_enabled"] = torchlite.is_grad_enabled()
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = leaf([1.0])
    y = Probe.apply(x)
    assert seen == {"requires_grad": False, "grad_enabled": False}
    assert y.requires_grad and y.grad_fn is not None
    with torchlite.no_grad():
        assert not Probe.apply(x).requires_grad


class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        v, i = torchlite.sort(x)
        ctx.save_for_backward(i)
        ctx.mark_non_differentiable(i)
        return v, i

    @staticmethod
    def backward(ctx, gv, gi):
        (i,) = ctx.saved_tensors
        assert gi is not None and float(gi.abs().sum()) == 0.0  # materialized zeros
        out = torchlite.zeros_like(gv)
        out[i] = gv
        return out


def test_mark_non_differentiable_and_multiple_outputs():
    x = leaf([3.0, 1.0, 2.0])
    v, i = SortWithIndex.apply(x)
    assert v.requires_grad and not i.requires_grad and i.dtype == torchlite.int64
    (v * torchlite.tensor([1.0, 2.0, 3.0], dtype=torchlite.float64)).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [3.0, 1.0, 2.0])


def test_unused_output_gets_zero_gradient_or_none():
    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    x = leaf([1.0])
    a, b = Two.apply(x)
    a.sum().backward()
    assert x.grad.item() == 2.0

    class NoMaterialize(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            assert g2 is None
            return g1 * 2

    x = leaf([1.0])
    NoMaterialize.apply(x)[0].sum().backward()
    assert x.grad.item() == 2.0


def test_bad_backward_results_are_reported():
    class WrongCount(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return (g,)

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return torchlite.ones(5, dtype=torchlite.float64)

    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    with pytest.raises(RuntimeError, match="WrongCount.*incorrect number of gradients"):
        WrongCount.apply(x, y).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongShape.*invalid gradient.*\[5\].*\[2\]"):
        WrongShape.apply(x).backward()


def test_gradient_of_other_dtype_is_cast_to_the_input_dtype():
    class Float64Grad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return torchlite.full(tuple(g.shape), 2.0, dtype=torchlite.float64) * g.double()

    x = leaf([1.0, 2.0], dtype=torchlite.float32)
    Float64Grad.apply(x).sum().backward()
    assert x.grad.dtype == torchlite.float32 and x.grad.tolist() == [2.0, 2.0]


def test_function_without_forward_or_backward():
    class Empty(Function):
        pass

    with pytest.raises(NotImplementedError, match="forward"):
        Empty.apply(leaf([1.0]))


def test_custom_function_device_mix():
    class Add(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g, g

    b = torchlite.ones(2)
    b._device = torchlite.device("cuda:0")  # a fake GPU tensor: only the device label matters
    with pytest.raises(RuntimeError, match=r"Add.*same device.*cpu.*cuda:0"):
        Add.apply(torchlite.ones(2), b)


def test_variable_is_a_silent_legacy_alias():
    from torchlite.autograd import Variable

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # silent, as PyTorch's
        v = Variable(torchlite.ones(2), requires_grad=True)
        w = torch.autograd.Variable([1.0, 2.0])
    assert type(v) is torchlite.Tensor and v.requires_grad
    assert isinstance(w, torchlite.Tensor) and not w.requires_grad and w.dtype == torch.float32
    (v * 2).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0]
