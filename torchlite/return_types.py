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
# torch.linalg's and the matrix functions' results
linalg_slogdet = _structseq("linalg_slogdet", ("sign", "logabsdet"))
linalg_qr = _structseq("linalg_qr", ("Q", "R"))
linalg_eigh = _structseq("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_svd = _structseq("linalg_svd", ("U", "S", "Vh"))
linalg_lstsq = _structseq("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
linalg_inv_ex = _structseq("linalg_inv_ex", ("inverse", "info"))
linalg_cholesky_ex = _structseq("linalg_cholesky_ex", ("L", "info"))
linalg_solve_ex = _structseq("linalg_solve_ex", ("result", "info"))
slogdet = _structseq("slogdet", ("sign", "logabsdet"))
qr = _structseq("qr", ("Q", "R"))
svd = _structseq("svd", ("U", "S", "V"))
nanmedian = _structseq("nanmedian", _VI)
mode = _structseq("mode", _VI)
histogram = _structseq("histogram", ("hist", "bin_edges"))
