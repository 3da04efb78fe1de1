"""Uniform(low, high)."""

from __future__ import annotations

import torchlite

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


def uniform_like(t, shape, low=0.0, high=1.0):
    """Uniform draws in [low, high) of `shape`, in t's dtype and on its device."""
    u = torchlite.rand(tuple(shape), dtype=t.dtype, device=t.device)
    return u if (low, high) == (0.0, 1.0) else u * (high - low) + low


class Uniform(Distribution):
    """Uniform on the half-open interval [low, high)."""

    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}
    has_rsample = True

    def __init__(self, low, high, validate_args=None) -> None:
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)
        if self._validate_args and not bool((self.low < self.high).all()):
            raise ValueError(f"Expected parameter low (Tensor of shape {tuple(self.low.shape)})"
                             f" of distribution {self!r} to be less than high, but found "
                             f"invalid values:\n{self.low}")

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    def expand(self, batch_shape, _instance=None):
        shape = tuple(batch_shape)
        return Uniform(self.low.expand(*shape), self.high.expand(*shape), validate_args=False)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return torchlite.full_like(self.high, float("nan"))

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        rand = uniform_like(self.low, self._extended_shape(sample_shape))
        return self.low + rand * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low <= value) & (self.high > value)
        return torchlite.log(inside.to(self.low.dtype)) - torchlite.log(self.high - self.low)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return torchlite.log(self.high - self.low)

    def _validate_sample(self, value):
        Distribution._validate_sample(self, value)
        if not bool(((self.low <= value) & (value <= self.high)).all()):
            raise ValueError(f"Expected value argument (Tensor of shape {tuple(value.shape)}) "
                             f"to be within the support ({self.support!r}) of the "
                             f"distribution {self!r}, but found invalid values:\n{value}")
