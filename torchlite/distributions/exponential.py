"""Exponential(rate)."""

from __future__ import annotations

import torchlite

from . import constraints
from .distribution import Distribution
from .uniform import uniform_like
from .utils import broadcast_all


class Exponential(Distribution):
    """Exponential(rate): density rate * exp(-rate x) on x >= 0."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return Exponential(self.rate.expand(*tuple(batch_shape)), validate_args=False)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return torchlite.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        u = uniform_like(self.rate, self._extended_shape(sample_shape))
        return -torchlite.log1p(-u) / self.rate  # inverse cdf of a uniform draw in [0, 1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - torchlite.exp(-self.rate * value)

    def icdf(self, value):
        return -torchlite.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - torchlite.log(self.rate)
