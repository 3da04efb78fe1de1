"""PyTorch's `torch.return_types`: the named tuples that max(dim), sort, topk and friends return.

They unpack (`values, indices = x.max(1)`), index and compare as tuples, and print as PyTorch
prints them: `torch.return_types.max(\\nvalues=tensor(...),\\nindices=tensor(...))`.
"""

from __future__ import annotations

from collections import namedtuple


def _structseq(name: str, fields: tuple[str, ...]) -> type:
    base = namedtuple(name, fields)  # type: ignore[misc]

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"torch.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
    return cls


_VI = ("values", "indices")
max = _structseq("max", _VI)  # noqa: A001 (PyTorch's names)
min = _structseq("min", _VI)  # noqa: A001
sort = _structseq("sort", _VI)
topk = _structseq("topk", _VI)
kthvalue = _structseq("kthvalue", _VI)
median = _structseq("median", _VI)
cummax = _structseq("cummax", _VI)
cummin = _structseq("cummin", _VI)
aminmax = _structseq("aminmax", ("min", "max"))
frexp = _structseq("frexp", ("mantissa", "exponent"))
