"""`torchlite.backends.cuda`: `is_built()` and the `matmul` flags of `torch.backends.cuda`.

`matmul.allow_tf32` is another view of `torchlite.get_float32_matmul_precision()` ("highest"
means False; setting True selects "high"), as in PyTorch. torchlite never multiplies in TF32:
the flags are recorded and read back only.
"""

from __future__ import annotations

import importlib.util

from .. import _flags

__all__ = ["is_built", "matmul"]


def is_built() -> bool:
    """Whether CuPy, torchlite's CUDA backend, is installed (the `cuda12`/`cuda13` extras):
    found without importing it. Whether a GPU can be used here is
    `torchlite.cuda.is_available()`."""
    return importlib.util.find_spec("cupy") is not None


class _Matmul:
    """`torchlite.backends.cuda.matmul`: allow_tf32 and the reduced-precision reduction flags."""

    __slots__ = ()
    _reduced = {"allow_fp16_reduced_precision_reduction": True,
                "allow_bf16_reduced_precision_reduction": True}

    @property
    def allow_tf32(self) -> bool:
        return _flags.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value) -> None:
        if not isinstance(value, bool):
            raise RuntimeError(f"set_allow_tf32_cublas expects a bool, but got "
                               f"{type(value).__name__}")
        _flags.set_float32_matmul_precision("high" if value else "highest")

    def __getattr__(self, name: str):
        if name in _Matmul._reduced:
            return _Matmul._reduced[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name: str, value) -> None:
        if name == "allow_tf32":
            object.__setattr__(self, name, value)
        elif name in _Matmul._reduced:
            if not isinstance(value, bool):
                raise RuntimeError(f"{name} expects a bool, but got {type(value).__name__}")
            _Matmul._reduced[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = _Matmul()
