"""`torch.distributions`: probability distributions with sampling (reparameterised where
PyTorch's are), log densities, entropies, moments, cdf/icdf, and closed-form KL divergences.

Normal, Uniform, Exponential, Laplace, Bernoulli, Categorical, OneHotCategorical, Poisson,
MultivariateNormal and Independent; `kl_divergence` / `register_kl`; `constraints`. Draws use
torchlite's global generator, so `torchlite.manual_seed` makes them reproducible (they are not
PyTorch's draws for the same seed).
"""

from __future__ import annotations

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .exponential import Exponential
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Exponential", "Independent", "Laplace",
           "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson", "Uniform",
           "constraints", "kl_divergence", "register_kl"]
