"""The part Normal and Laplace share: a real location and a positive scale, broadcast together,
with the location as mean and mode."""

from __future__ import annotations

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class LocScale(Distribution):
    """A distribution on the reals with parameters (loc, scale); subclasses give the density."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        shape = tuple(batch_shape)
        return type(self)(self.loc.expand(*shape), self.scale.expand(*shape), validate_args=False)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc
