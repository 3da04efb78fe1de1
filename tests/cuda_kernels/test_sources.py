"""Cheap checks of the kernel sources that need no GPU: brackets nest, and each RawKernel's
parameters are the ones its wrapper passes, in order."""

from __future__ import annotations

import pytest

from torchlite._cuda_kernels import _common, activation, cross_entropy, dropout, optim

RAW = [
    (optim.ADAM_SOURCE, "tl_adam", optim.ADAM_PARAMS),
    (optim.SGD_SOURCE, "tl_sgd", optim.SGD_PARAMS),
    (cross_entropy.FORWARD_SOURCE, "tl_ce_forward", cross_entropy.FORWARD_PARAMS),
    (cross_entropy.BACKWARD_SOURCE, "tl_ce_backward", cross_entropy.BACKWARD_PARAMS),
    (dropout.SOURCE, "tl_dropout", dropout.PARAMS),
]


# the C types a wrapper can pass: numpy int32 / int64 / uint64 / float32 scalars, a scalar of
# the arrays' dtype (T), and C-contiguous arrays of T or int64
KNOWN_TYPES = {"int", "long long", "unsigned long long", "float", "T", "T*", "long long*"}


@pytest.mark.parametrize("source,name,params", RAW, ids=[r[1] for r in RAW])
def test_raw_kernels(source, name, params):
    assert _common.balanced(source)
    assert f'extern "C" __global__ void {name}(' in source
    assert _common.raw_params(source, name) == list(params)
    signature = _common.raw_signature(source, name)
    assert {t for t, _ in signature} <= KNOWN_TYPES, signature
    assert "#define T" not in source  # the wrappers prepend it, per dtype


def test_elementwise_kernels():
    assert _common.balanced(activation.PREAMBLE)
    for act in activation.ACTIVATIONS:
        for spec in (activation.forward_kernel_spec(act), activation.backward_kernel_spec(act)):
            assert all(_common.balanced(part) for part in spec)
    assert all(_common.balanced(part) for part in dropout.UNIFORM_MASK)


def test_the_checks_catch_mistakes():
    assert not _common.balanced("{ (a[0] }")
    assert _common.raw_params("void k(const T* __restrict__ x, int n) {}", "k") == ["x", "n"]
    assert _common.raw_signature(
        "void k(const long long* __restrict__ t, const unsigned long long s, T *y) {}", "k") \
        == [("long long*", "t"), ("unsigned long long", "s"), ("T*", "y")]


def test_int32_sizes_are_checked():
    _common.check_int32("k", n=2**31 - 1, c=0)
    with pytest.raises(ValueError, match="n = 2147483648 does not fit"):
        _common.check_int32("k", n=2**31)


def test_importing_the_kernels_imports_no_cupy():
    import subprocess
    import sys

    code = ("import sys, torchlite._cuda_kernels.optim, torchlite._cuda_kernels.activation, "
            "torchlite._cuda_kernels.cross_entropy, torchlite._cuda_kernels.dropout; "
            "assert 'cupy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
