"""MultivariateNormal(loc, covariance_matrix | precision_matrix | scale_tril)."""

from __future__ import annotations

import math

import torchlite

from . import constraints
from .distribution import Distribution
from .utils import lazy_property


class MultivariateNormal(Distribution):
    """N(loc, Sigma) over vectors of loc's last dim, Sigma given by exactly one of its
    covariance, its precision (inverse) or its lower Cholesky factor scale_tril (Sigma =
    L L^T). Batch dims of loc and the matrix broadcast."""

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None) -> None:
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        matrix = given[0]
        if matrix.ndim < 2:
            raise ValueError("scale_tril, covariance_matrix or precision_matrix matrix must be "
                             "at least two-dimensional, with optional leading batch dimensions")
        batch = torchlite.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        n = loc.shape[-1]
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(*batch, -1, -1)
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(*batch, -1, -1)
        else:
            self.precision_matrix = precision_matrix.expand(*batch, -1, -1)
        self.loc = loc.expand(*batch, -1)
        super().__init__(batch, (n,), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = torchlite.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = torchlite.linalg.cholesky(
                torchlite.linalg.inv(precision_matrix))

    def expand(self, batch_shape, _instance=None):
        shape = tuple(batch_shape)
        n = self.event_shape[0]
        return MultivariateNormal(self.loc.expand(*shape, n),
                                  scale_tril=self._unbroadcasted_scale_tril.expand(*shape, n, n),
                                  validate_args=False)

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(
            *self._batch_shape, *self._event_shape, *self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        low = self._unbroadcasted_scale_tril
        return (low @ low.mT).expand(*self._batch_shape, *self._event_shape, *self._event_shape)

    @lazy_property
    def precision_matrix(self):
        return torchlite.cholesky_inverse(self._unbroadcasted_scale_tril).expand(
            *self._batch_shape, *self._event_shape, *self._event_shape)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(
            *self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        eps = torchlite.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def _mahalanobis(self, diff):
        """|L^-1 diff|^2 over the last dim, L broadcast against diff's batch."""
        low = self._unbroadcasted_scale_tril
        batch = torchlite.broadcast_shapes(tuple(low.shape[:-2]), tuple(diff.shape[:-1]))
        n = diff.shape[-1]
        sol = torchlite.linalg.solve_triangular(low.expand(*batch, n, n),
                                                diff.expand(*batch, n).unsqueeze(-1),
                                                upper=False).squeeze(-1)
        return sol.pow(2).sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        m = self._mahalanobis(value - self.loc)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(*self._batch_shape) if len(self._batch_shape) else h
