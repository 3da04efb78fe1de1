"""detect_anomaly: a NaN produced in backward names the op and the forward line behind it."""

import math

import numpy as np
import pytest
from _core_checks import leaf

import torchlite
from torchlite import autograd


def _nan_in_sqrt_backward():
    x = leaf([0.0, 1.0])
    y = torchlite.sqrt(x)  # d sqrt / dx at 0 is inf; times a zero gradient gives nan
    return (y * torchlite.tensor([0.0, 1.0], dtype=torchlite.float64)).sum()


def test_detect_anomaly_names_the_op_and_the_line():
    with autograd.detect_anomaly():
        loss = _nan_in_sqrt_backward()
        with pytest.raises(RuntimeError) as exc:
            loss.backward()
    msg = str(exc.value)
    assert "SqrtBackward0" in msg and "nan" in msg
    assert "test_anomaly.py" in msg and "torchlite.sqrt(x)" in msg


def test_without_anomaly_mode_nan_passes_silently():
    with np.errstate(all="ignore"):
        loss = _nan_in_sqrt_backward()
        loss.backward()
    assert not autograd.anomaly.is_anomaly_enabled()


def test_anomaly_as_decorator_and_set_detect_anomaly():
    @autograd.detect_anomaly()
    def run():
        assert autograd.anomaly.is_anomaly_enabled()
        _nan_in_sqrt_backward().backward()

    with pytest.raises(RuntimeError, match="SqrtBackward0"):
        run()
    assert not autograd.anomaly.is_anomaly_enabled()
    with autograd.set_detect_anomaly(False):
        assert not autograd.anomaly.is_anomaly_enabled()
    with autograd.set_detect_anomaly(True):
        assert autograd.anomaly.is_anomaly_enabled()


def test_finite_gradients_pass_under_anomaly_mode():
    with autograd.detect_anomaly():
        x = leaf([1.0, 2.0])
        (x.exp() * x).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()



# -- detect_anomaly checks backward for NaN only, as PyTorch: an infinite gradient is legitimate
# (d sqrt(x)/dx at 0), and forward outputs are never checked.


def test_an_infinite_gradient_passes():
    with autograd.detect_anomaly():
        x = torchlite.tensor([0.0], requires_grad=True)
        x.sqrt().backward()
    assert x.grad.tolist() == [math.inf]


def test_an_infinite_input_gradient_flows_through():
    with autograd.detect_anomaly():
        x = torchlite.tensor([1.0, 2.0], requires_grad=True)
        (x * 3).backward(torchlite.tensor([math.inf, 1.0]))
    assert x.grad.tolist() == [math.inf, 3.0]


def test_forward_nan_and_inf_are_not_checked():
    with autograd.detect_anomaly():
        x = torchlite.tensor([-1.0, 0.0], requires_grad=True)
        with np.errstate(all="ignore"):
            y = x.log()  # log(-1) = nan, log(0) = -inf in forward
        assert math.isnan(y.tolist()[0]) and y.tolist()[1] == -math.inf
        y.sum().backward()  # backward: 1/x = -1, inf: no NaN
    assert x.grad.tolist() == [-1.0, math.inf]


def test_a_nan_gradient_still_raises_with_the_op_and_line():
    with autograd.detect_anomaly():
        x = torchlite.tensor([1.0], requires_grad=True)
        y = x * 2
        with pytest.raises(RuntimeError, match=r"Function 'MulBackward0' returned nan values "
                                               r"in its 0th output"):
            y.backward(torchlite.tensor([math.nan]))


def test_check_nan_false_records_but_does_not_check():
    with autograd.detect_anomaly(check_nan=False):
        assert autograd.is_anomaly_enabled() and not autograd.is_anomaly_check_nan_enabled()
        assert torchlite.is_anomaly_enabled()
        x = torchlite.tensor([1.0], requires_grad=True)
        (x * 2).backward(torchlite.tensor([math.nan]))
    assert math.isnan(x.grad.item())
    assert not autograd.is_anomaly_enabled() and autograd.is_anomaly_check_nan_enabled()


def test_set_detect_anomaly_states():
    with autograd.set_detect_anomaly(True, check_nan=False):
        assert autograd.is_anomaly_enabled() and not autograd.is_anomaly_check_nan_enabled()
    assert not autograd.is_anomaly_enabled() and autograd.is_anomaly_check_nan_enabled()
    with autograd.set_detect_anomaly(False):
        assert not autograd.is_anomaly_enabled() and autograd.is_anomaly_check_nan_enabled()


def _run(torch, case):
    """(grad as a list, or the error message) for one anomaly case on either framework."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            x = torch.tensor([0.0, 4.0], requires_grad=True)
            try:
                if case == "sqrt0":
                    x.sqrt().sum().backward()
                elif case == "inf_seed":
                    (x * 2).backward(torch.tensor([math.inf, 1.0]))
                elif case == "nan_seed":
                    (x * 2).backward(torch.tensor([math.nan, 1.0]))
                elif case == "sqrt0_times_0":  # inf * 0 in backward: NaN
                    (x.sqrt() * torch.tensor([0.0, 1.0])).sum().backward()
            except RuntimeError as exc:
                return str(exc).splitlines()[0]
    return [repr(v) for v in x.grad.tolist()]


@pytest.mark.parity
@pytest.mark.parametrize("case", ["sqrt0", "inf_seed", "nan_seed", "sqrt0_times_0"])
def test_anomaly_parity(case):
    torch = pytest.importorskip("torch")
    assert _run(torchlite, case) == _run(torch, case)
