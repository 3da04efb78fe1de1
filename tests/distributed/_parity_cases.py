"""The training runs compared between 1 process with batch kB and k ranks with batch B each."""

from __future__ import annotations

import numpy as np

import torchlite
import torchlite.nn as nn
from torchlite.utils.data import DataLoader, DistributedSampler, TensorDataset

STEPS = 50
B = 4  # per rank
CASES = [(opt, model, dtype) for opt in ("sgd", "adamw") for model in ("mlp", "bn")
         for dtype in ("float64", "float32")]


def _data(dtype: str, world: int):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((STEPS * world * B, 6)).astype(dtype)
    y = (np.sin(x[:, :3]) + 0.1 * rng.standard_normal((x.shape[0], 3))).astype(dtype)
    return TensorDataset(torchlite.from_numpy(x), torchlite.from_numpy(y))


def _model(kind: str, dtype: str) -> nn.Module:
    torchlite.manual_seed(3)
    if kind == "mlp":
        m = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    else:
        # no bias before the norm: its true gradient is zero, and AdamW would amplify the
        # rounding noise that stands in for it into unrelated steps on each side
        m = nn.Sequential(nn.Linear(6, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                          nn.Linear(16, 3))
    return m.to(getattr(torchlite, dtype))


def _optimizer(kind: str, params):
    if kind == "sgd":
        return torchlite.optim.SGD(params, lr=0.05, momentum=0.9)
    return torchlite.optim.AdamW(params, lr=1e-2, weight_decay=0.01)


def train(opt: str, model: str, dtype: str, rank: int | None = None,
          world: int = 2) -> dict[str, np.ndarray]:
    """Train for STEPS steps: as one rank of a DDP job of `world` ranks, or (rank None) as the
    one process that sees the same data in batches of world * B."""
    ds = _data(dtype, world)
    net = _model(model, dtype)
    if rank is None:
        loader = DataLoader(ds, batch_size=B * world, shuffle=False)
        wrapped = net
    else:
        from torchlite.nn.parallel import DistributedDataParallel

        if model == "bn":
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        wrapped = DistributedDataParallel(net, bucket_cap_mb=0.0005)  # several buckets
        sampler = DistributedSampler(ds, world, rank, shuffle=False)
        loader = DataLoader(ds, batch_size=B, sampler=sampler)
    optimizer = _optimizer(opt, wrapped.parameters())
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(wrapped(x), y)
        loss.backward()
        optimizer.step()
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


def case_name(opt: str, model: str, dtype: str) -> str:
    return f"{opt}-{model}-{dtype}"
