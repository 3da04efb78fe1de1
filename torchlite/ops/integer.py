"""Integer arithmetic: gcd and lcm of integer tensors (no gradient; floats are refused, as
PyTorch refuses them)."""

from __future__ import annotations

from ..backend import xp_for
from ..tensor import Tensor
from .bitwise import integer_operands
from .out import with_out


def gcd(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Greatest common divisor, elementwise (non-negative; gcd(0, 0) = 0)."""
    if out is not None:
        return with_out(gcd, "gcd", out, (input, other), exact=True)
    a, b, _, dev = integer_operands(input, other, "gcd", allow_bool=False)
    return Tensor._make(xp_for(dev).gcd(a, b), dev)


def lcm(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Least common multiple, elementwise (non-negative; 0 when either is 0)."""
    if out is not None:
        return with_out(lcm, "lcm", out, (input, other), exact=True)
    a, b, _, dev = integer_operands(input, other, "lcm", allow_bool=False)
    return Tensor._make(xp_for(dev).lcm(a, b), dev)
