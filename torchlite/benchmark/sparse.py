"""Suite `sparse`: sparse x dense products and sparse embedding gradients.

Rows (the issue's targets, as ratios in one run):
  spmm           sparse (10,000 x 10,000, 0.1% nonzero) @ dense (10,000 x 64), forward and
                 backward (gradients of both): torchlite / torch <= 1.5. The floor is
                 scipy.sparse by hand (the product, A^T @ g, and g @ B^T sampled on A's entries).
  emb sparse     Embedding(100,000 x 64, sparse=True) + SparseAdam, a batch of 512 ids: a step
                 <= 1.5x PyTorch's; the floor is lazy Adam on the touched rows in NumPy.
  emb dense      the same model with a dense gradient and Adam: the sparse row must be >= 10x
                 faster than this one (compare their torchlite columns).
  coo 1M         building a 100,000 x 100,000 COO tensor with 1M nonzeros; its check reports
                 the bytes it holds (target < 40 MB).
"""

from __future__ import annotations

import importlib.util

import numpy as np

from .. import backend
from ._common import SEED, Env, RowSpec

REPEAT, WARMUP, BLOCK, SETTLE = 15, 2, 5, 0.15
FULL = {"n": 10_000, "density": 0.001, "cols": 64, "vocab": 100_000, "dim": 64, "batch": 512,
        "coo_n": 100_000, "coo_nnz": 1_000_000}
QUICK = {"n": 1_000, "density": 0.01, "cols": 16, "vocab": 10_000, "dim": 16, "batch": 64,
         "coo_n": 10_000, "coo_nnz": 10_000}
LR = 1e-3


def rows(quick: bool = False) -> list[RowSpec]:
    s = dict(QUICK if quick else FULL, seed=SEED)
    nnz = int(s["n"] * s["n"] * s["density"])
    out = [
        RowSpec("sparse", "spmm", f"sparse ({s['n']:,} x {s['n']:,}, {nnz:,} nonzeros) @ dense "
                f"({s['n']:,} x {s['cols']}), forward + backward of both; floor: scipy.sparse",
                {**s, "kind": "spmm"}),
        RowSpec("sparse", "emb sparse", f"Embedding({s['vocab']:,} x {s['dim']}, sparse=True) + "
                f"SparseAdam, {s['batch']} ids per step; floor: lazy Adam in NumPy",
                {**s, "kind": "emb_sparse"}, samples=s["batch"]),
        RowSpec("sparse", "emb dense", f"Embedding({s['vocab']:,} x {s['dim']}) + Adam (dense "
                f"gradient), {s['batch']} ids per step; floor: dense Adam in NumPy",
                {**s, "kind": "emb_dense"}, samples=s["batch"]),
        RowSpec("sparse", "coo 1M", f"sparse_coo_tensor of {s['coo_nnz']:,} nonzeros in "
                f"{s['coo_n']:,} x {s['coo_n']:,}; check: bytes held",
                {**s, "kind": "coo"}),
    ]
    if importlib.util.find_spec("scipy") is None:  # the product needs the sparse extra
        out = out[1:]
    return out


def _spmm_data(p):
    rng = np.random.default_rng(p["seed"])
    n = p["n"]
    nnz = int(n * n * p["density"])
    idx = np.stack([rng.integers(0, n, nnz), rng.integers(0, n, nnz)]).astype(np.int64)
    keys = np.unique(idx[0] * n + idx[1])  # distinct, sorted: a coalesced matrix
    idx = np.stack([keys // n, keys % n])
    vals = rng.standard_normal(len(keys)).astype(np.float32)
    b = rng.standard_normal((n, p["cols"])).astype(np.float32)
    g = rng.standard_normal((n, p["cols"])).astype(np.float32)
    return idx, vals, b, g


class Spmm:
    def __init__(self, env: Env, p: dict) -> None:
        idx, vals, b, g = _spmm_data(p)
        self.env, self.n = env, p["n"]
        lib = env.lib
        if lib is None:
            xp = env.xp
            self.idx, self.vals, self.b, self.g = (xp.asarray(a) for a in (idx, vals, b, g))
            xsp = backend.get_xsp(self.vals)
            self.a = xsp.csr_matrix((self.vals, (self.idx[0], self.idx[1])), shape=(p["n"],) * 2)
            self.at = self.a.T.tocsr()
            return
        self.s = lib.sparse_coo_tensor(env.put(idx), env.put(vals), (p["n"], p["n"]),
                                       requires_grad=True)
        self.b = env.put(b).requires_grad_()
        self.g = env.put(g)

    def step(self):
        lib = self.env.lib
        if lib is None:
            out = self.a @ self.b
            gb = self.at @ self.g
            xp = self.env.xp
            gs = xp.einsum("ij,ij->i", self.g[self.idx[0]], self.b[self.idx[1]])
            return out, gb, gs
        self.s.grad = self.b.grad = None
        out = lib.sparse.mm(self.s, self.b)
        out.backward(self.g)
        return out

    def check(self) -> dict[str, float]:
        out = self.step()
        if self.env.lib is None:
            o, gb, gs = (self.env.get(a) for a in out)
        else:
            o = self.env.get(out)
            gb = self.env.get(self.b.grad)
            gs = self.env.get(self.s.grad.coalesce().values())
        return {"sum out": float(o.sum(dtype=np.float64)),
                "sum grad dense": float(gb.sum(dtype=np.float64)),
                "sum grad sparse": float(gs.sum(dtype=np.float64))}


class EmbeddingStep:
    def __init__(self, env: Env, p: dict, sparse: bool) -> None:
        rng = np.random.default_rng(p["seed"])
        w = (rng.standard_normal((p["vocab"], p["dim"])) * 0.1).astype(np.float32)
        self.ids = [rng.integers(0, p["vocab"], p["batch"]) for _ in range(4)]
        g = rng.standard_normal((p["batch"], p["dim"])).astype(np.float32)
        self.env, self.sparse, self.k = env, sparse, 0
        lib = env.lib
        if lib is None:
            xp = env.xp
            self.w, self.g = xp.asarray(w), xp.asarray(g)
            self.m, self.v = xp.zeros_like(self.w), xp.zeros_like(self.w)
            self.t = 0
            self.ids = [xp.asarray(i) for i in self.ids]
            return
        self.emb = lib.nn.Embedding(p["vocab"], p["dim"], sparse=sparse)
        self.emb.weight.data = env.put(w)
        self.emb.to(env.device)
        opt = lib.optim.SparseAdam if sparse else lib.optim.Adam
        self.opt = opt(self.emb.parameters(), lr=LR)
        self.ids = [env.put(i) for i in self.ids]
        self.g = env.put(g)

    def step(self):
        ids = self.ids[self.k % len(self.ids)]
        self.k += 1
        if self.env.lib is None:
            return self._floor(ids)
        self.opt.zero_grad()
        self.emb(ids).backward(self.g)
        self.opt.step()
        return None

    def _floor(self, ids):
        xp, b1, b2, eps = self.env.xp, 0.9, 0.999, 1e-8
        self.t += 1
        if self.sparse:  # lazy Adam on the distinct rows of the batch
            rows, inv = xp.unique(ids, return_inverse=True)
            grad = xp.zeros((rows.shape[0], self.g.shape[1]), dtype=self.g.dtype)
            xp.add.at(grad, inv.reshape(-1), self.g)
            m = self.m[rows] * b1 + (1 - b1) * grad
            v = self.v[rows] * b2 + (1 - b2) * grad * grad
            self.m[rows], self.v[rows] = m, v
            step = LR * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
            self.w[rows] -= step * m / (xp.sqrt(v) + eps)
            return None
        grad = xp.zeros_like(self.w)
        xp.add.at(grad, ids, self.g)
        self.m *= b1
        self.m += (1 - b1) * grad
        self.v *= b2
        self.v += (1 - b2) * grad * grad
        denom = xp.sqrt(self.v / (1 - b2 ** self.t))
        denom += eps
        self.w -= (LR / (1 - b1 ** self.t)) * self.m / denom
        return None

    def check(self) -> dict[str, float]:
        w = self.w if self.env.lib is None else self.emb.weight
        before = self.env.get(w).copy()
        self.step()
        moved = np.abs(self.env.get(w) - before)
        return {"rows moved": float(np.any(moved > 0, axis=1).sum()),
                "sum |param change|": float(moved.sum(dtype=np.float64))}


class BuildCoo:
    def __init__(self, env: Env, p: dict) -> None:
        rng = np.random.default_rng(p["seed"])
        n, nnz = p["coo_n"], p["coo_nnz"]
        self.env, self.n = env, n
        idx = np.stack([rng.integers(0, n, nnz), rng.integers(0, n, nnz)]).astype(np.int64)
        vals = rng.standard_normal(nnz).astype(np.float32)
        self.idx, self.vals = env.put(idx), env.put(vals)

    def step(self):
        lib = self.env.lib
        if lib is None:
            return self.idx.copy(), self.vals.copy()
        return lib.sparse_coo_tensor(self.idx, self.vals, (self.n, self.n))

    def check(self) -> dict[str, float]:
        out = self.step()
        if self.env.lib is None:
            held = sum(a.nbytes for a in out)
        else:
            held = out._indices().numel() * 8 + out._values().numel() * out.element_size()
        return {"MB held": held / 2 ** 20}


def build(env: Env, params: dict):
    kind = params["kind"]
    if kind == "spmm":
        return Spmm(env, params)
    if kind == "coo":
        return BuildCoo(env, params)
    return EmbeddingStep(env, params, sparse=kind == "emb_sparse")
