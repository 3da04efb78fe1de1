"""Random number generation: one seeded default generator, plus Generator objects.

Random arrays are drawn on the CPU with NumPy's PCG64 and moved to the target device, so a seed
gives the same numbers on every device.
"""

from __future__ import annotations

import numpy as np

_DEFAULT_SEED = 67280421310721


class Generator:
    """A seeded source of random numbers, as `torch.Generator`."""

    def __init__(self, device="cpu") -> None:
        from .backend import device as _device

        self.device = _device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if seed < 0:
            seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self.rng = np.random.default_rng(seed)
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's state as plain JSON-able values (checkpoints store it as metadata)."""
        st = self.rng.bit_generator.state
        return {
            "seed": self._seed,
            "bit_generator": st["bit_generator"],
            "state": {k: int(v) for k, v in st["state"].items()},
            "has_uint32": int(st["has_uint32"]),
            "uinteger": int(st["uinteger"]),
        }

    def set_state(self, state: dict) -> Generator:
        self._seed = int(state["seed"])
        self.rng = np.random.default_rng(self._seed)
        self.rng.bit_generator.state = {
            "bit_generator": state["bit_generator"],
            "state": dict(state["state"]),
            "has_uint32": state["has_uint32"],
            "uinteger": state["uinteger"],
        }
        return self


_default = Generator()


def default_generator() -> Generator:
    return _default


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (all torchlite randomness that is not given a Generator)."""
    return _default.manual_seed(seed)


def seed() -> int:
    return _default.seed()


def initial_seed() -> int:
    return _default.initial_seed()


def get_rng_state() -> dict:
    return _default.get_state()


def set_rng_state(new_state: dict) -> None:
    _default.set_state(new_state)


def _rng(generator: Generator | None = None) -> np.random.Generator:
    return (generator or _default).rng
