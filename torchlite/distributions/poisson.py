"""Poisson(rate)."""

from __future__ import annotations

import torchlite
from torchlite import backend
from torchlite.random import _rng

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class Poisson(Distribution):
    """Counts k >= 0 with probability rate^k exp(-rate) / k!."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return Poisson(self.rate.expand(*tuple(batch_shape)), validate_args=False)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        rate = backend.to_host(self.rate.detach().expand(*shape)._data)
        draws = _rng().poisson(rate).astype(rate.dtype)  # the global generator: manual_seed
        return torchlite.tensor(draws, device=self.rate.device)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = torchlite.broadcast_tensors(self.rate, value.to(self.rate.dtype))
        return torchlite.xlogy(value, rate) - rate - torchlite.lgamma(value + 1)
