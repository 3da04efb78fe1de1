"""Independent(base, reinterpreted_batch_ndims): batch dims of a distribution read as event
dims, so log_prob sums over them (a diagonal Normal as one multivariate distribution)."""

from __future__ import annotations

from . import constraints
from .distribution import Distribution


def _sum_rightmost(value, dims: int):
    return value.reshape(*value.shape[:value.ndim - dims], -1).sum(-1) if dims else value


class Independent(Distribution):
    arg_constraints: dict = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims: int,
                 validate_args=None) -> None:
        n = len(base_distribution.batch_shape)
        if reinterpreted_batch_ndims > n:
            raise ValueError(f"Expected reinterpreted_batch_ndims <= len(base_distribution."
                             f"batch_shape), actual {reinterpreted_batch_ndims} vs {n}")
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args=validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False if self.reinterpreted_batch_ndims else self.base_dist.has_enumerate_support

    @property
    def support(self):
        base = self.base_dist.support
        if base is None or base is constraints.dependent:
            return base
        return constraints.independent(base, self.reinterpreted_batch_ndims)

    def expand(self, batch_shape, _instance=None):
        extra = tuple(self.event_shape[:self.reinterpreted_batch_ndims])
        return Independent(self.base_dist.expand(tuple(batch_shape) + extra),
                           self.reinterpreted_batch_ndims, validate_args=False)

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
