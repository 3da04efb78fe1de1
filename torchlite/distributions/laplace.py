"""Laplace(loc, scale)."""

from __future__ import annotations

import torchlite

from ._loc_scale import LocScale
from .uniform import uniform_like


class Laplace(LocScale):
    """Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 scale)."""

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return 2 ** 0.5 * self.scale

    def rsample(self, sample_shape=()):
        eps = torchlite.finfo(self.loc.dtype).eps
        u = uniform_like(self.loc, self._extended_shape(sample_shape), eps - 1, 1.0)
        return self.loc - self.scale * u.sign() * torchlite.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -torchlite.log(2 * self.scale) - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * torchlite.expm1(
            -(value - self.loc).abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * torchlite.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + torchlite.log(2 * self.scale)
