"""The `train` suite's jobs written as plain loops: PyTorch as its users write one, and the floor
in hand-written NumPy (the same model, optimizer, splits, validation, checkpoints and progress
lines as the shipped configs; see train.py).

The floor's LeNet-5 forward and backward are one function (lenet5.Floor): their time is counted
under `backward`, and its `forward` is zero. The floor
keeps its learning rate constant (a scheduler is a few scalar operations per step), and writes
its checkpoints with np.savez.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ._common import Env
from ._floor import SGD, Adam, cross_entropy
from .train import Phases

# per shipped config: the layers, dropout, optimizer, scheduler, batch size, splits, scaling,
# gradient clipping and the input shape
SPECS: dict[str, dict[str, Any]] = {
    "mnist_mlp.yaml": {"sizes": (784, 256, 128, 10), "dropout": 0.2, "batch": 128,
                       "opt": ("adamw", 1e-3, 0.01), "sched": ("cosine", 10), "val": 0.1,
                       "test": 0.0, "norm": "global", "clip": None},
    "digits_mlp.yaml": {"sizes": (64, 128, 10), "dropout": 0.1, "batch": 64,
                        "opt": ("adamw", 1e-3, 0.01), "sched": ("cosine", 30), "val": 0.1,
                        "test": 0.2, "norm": "pixel", "clip": None},
    "mnist_lenet.yaml": {"sizes": None, "dropout": 0.0, "batch": 64,
                         "opt": ("sgd", 0.05, 0.9, 5e-4), "sched": ("onecycle", 0.1),
                         "val": 0.1, "test": 0.0, "norm": "global", "clip": 5.0},
}


def load_arrays(params: dict, folder: Path, spec: dict):
    """(train x, train y), (val x, val y), (test x, test y) as float32/int64 NumPy arrays."""
    from ..datasets.splits import split_sizes

    xt: Any
    yt: Any
    if params["images"]:
        def idx(name: str, offset: int) -> np.ndarray:
            return np.frombuffer((folder / "mnist" / name).read_bytes(), np.uint8, offset=offset)
        x = idx("train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
        y = idx("train-labels-idx1-ubyte", 8).astype(np.int64)
        xt = idx("t10k-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
        yt = idx("t10k-labels-idx1-ubyte", 8).astype(np.int64)
    else:
        from ..datasets.embedded import DIGITS_FILE

        with np.load(DIGITS_FILE, allow_pickle=False) as f:
            x, y = f["images"][:, None], f["labels"].astype(np.int64)
        xt = yt = None  # digits has no test split of its own: carved out below
    rng = np.random.default_rng(params["seed"])
    perm = rng.permutation(len(x))
    fractions = [1 - spec["val"] - spec["test"], spec["val"]] + ([spec["test"]] if xt is None
                                                                 else [])
    cuts = np.cumsum(split_sizes(len(x), fractions))[:-1]
    parts = [(x[i], y[i]) for i in np.split(perm, cuts)]
    if xt is not None:
        parts.append((xt, yt))
    x0 = parts[0][0].astype(np.float32)
    if spec["norm"] == "global":
        mean, std = x0.mean(), x0.std()
    else:
        mean, std = x0.mean(axis=0), x0.std(axis=0) + 1e-6
    shape = (-1, spec["sizes"][0]) if spec["sizes"] else (-1, 1, 28, 28)
    return [(((a.astype(np.float32) - mean) / std).astype(np.float32).reshape(shape), b)
            for a, b in parts]


class PlainJob:
    """The job as a plain loop in PyTorch or (the floor) NumPy."""

    def __init__(self, env: Env, params: dict, folder: Path, config: Path) -> None:
        self.env, self.params, self.folder = env, params, folder
        self.spec: dict[str, Any] = SPECS[config.name]
        self.phases: dict[str, float] = {}
        self.samples = self.epochs = 0

    def step(self) -> None:
        ph = Phases()
        ckpt = self.folder / "plain"
        ckpt.mkdir(exist_ok=True)
        run = TorchLoop(self, ph) if self.env.framework == "torch" else FloorLoop(self, ph)
        lines: list[str] = []
        best = -1.0
        for epoch in range(1, self.params["epochs"] + 1):
            train_loss, train_acc = run.train_epoch()
            ph.begin()
            val_loss, val_acc = run.evaluate(run.val)
            ph.end("metrics")
            ph.timed("optimizer", run.epoch_end)
            ph.begin()
            run.save(ckpt / "last")
            if val_acc > best:
                best = val_acc
                run.save(ckpt / "best")
            ph.end("checkpointing")
            ph.begin()
            lines.append(f"epoch {epoch}: train/loss {train_loss:.4f} train/accuracy "
                         f"{train_acc:.4f} val/loss {val_loss:.4f} val/accuracy {val_acc:.4f}")
            ph.end("display")
            self.epochs = epoch
        if run.test is not None:
            ph.timed("metrics", run.evaluate, run.test)
        self.samples = run.samples
        self.phases = ph.finish()

    def check(self) -> dict[str, float]:
        self.step()
        return {"samples trained": float(self.samples), "epochs": float(self.epochs)}


class TorchLoop:
    def __init__(self, job: PlainJob, ph: Phases) -> None:
        import torch
        from torch import nn

        self.torch, self.ph, self.job, self.samples = torch, ph, job, 0
        self.opt: Any
        self.sched: Any
        spec, dev = job.spec, job.env.device
        ph.begin()
        torch.manual_seed(job.params["seed"])
        if spec["sizes"]:
            s = spec["sizes"]
            layers = [nn.Linear(s[0], s[1]), nn.ReLU(), nn.Dropout(spec["dropout"])]
            for a, b in zip(s[1:-1], s[2:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            self.model = nn.Sequential(*layers[:-1]).to(dev)
        else:
            self.model = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)).to(dev)
        self.loss_fn = nn.CrossEntropyLoss()
        ph.end("start-up")
        ph.begin()
        parts = load_arrays(job.params, job.folder, spec)
        data = torch.utils.data

        def loader(part, shuffle):
            ds = data.TensorDataset(torch.from_numpy(part[0]), torch.from_numpy(part[1]))
            return data.DataLoader(ds, batch_size=spec["batch"], shuffle=shuffle)
        self.train = loader(parts[0], True)
        self.val = loader(parts[1], False)
        self.test = loader(parts[2], False) if len(parts) > 2 else None
        ph.end("data")
        ph.begin()
        opt = spec["opt"]
        if opt[0] == "adamw":
            self.opt = torch.optim.AdamW(self.model.parameters(), lr=opt[1], weight_decay=opt[2])
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=opt[1], momentum=opt[2],
                                       weight_decay=opt[3])
        sched = spec["sched"]
        if sched[0] == "cosine":
            self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=sched[1])
            self.step_sched = None
        else:
            self.sched = None
            self.step_sched = torch.optim.lr_scheduler.OneCycleLR(
                self.opt, max_lr=sched[1], total_steps=job.params["epochs"] * len(self.train))
        ph.end("start-up")

    def _batches(self, loader):
        it = iter(loader)
        dev = self.job.env.device
        while True:
            self.ph.begin()
            try:
                x, y = next(it)
            except StopIteration:
                self.ph.end("data")
                return
            x, y = x.to(dev), y.to(dev)
            self.ph.end("data")
            yield x, y

    def train_epoch(self) -> tuple[float, float]:
        ph, clock = self.ph, Phases.clock
        self.model.train()
        loss_sum = correct = n = 0
        for x, y in self._batches(self.train):
            t0 = clock()
            out = self.model(x)
            loss = self.loss_fn(out, y)
            t1 = clock()
            self.opt.zero_grad()
            loss.backward()
            t2 = clock()
            if self.job.spec["clip"]:
                self.torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.job.spec["clip"])
            self.opt.step()
            if self.step_sched is not None:
                self.step_sched.step()
            t3 = clock()
            loss_sum += loss.detach()
            correct += (out.detach().argmax(1) == y).sum()
            n += len(y)
            t4 = clock()
            ph.add(forward=t1 - t0, backward=t2 - t1, optimizer=t3 - t2, metrics=t4 - t3)
        self.samples += n
        return float(loss_sum) / len(self.train), float(correct) / n

    def evaluate(self, loader) -> tuple[float, float]:
        self.model.eval()
        loss_sum = correct = n = 0
        with self.torch.no_grad():
            for x, y in self._batches(loader):
                out = self.model(x)
                loss_sum += self.loss_fn(out, y) * len(y)
                correct += (out.argmax(1) == y).sum()
                n += len(y)
        return float(loss_sum) / n, float(correct) / n

    def epoch_end(self) -> None:
        if self.sched is not None:
            self.sched.step()

    def save(self, path: Path) -> None:
        self.torch.save(self.model.state_dict(), path.with_suffix(".pt"))


class FloorLoop:
    """The job in NumPy: the MLPs forward and backward by hand, LeNet-5 by lenet5.Floor."""

    def __init__(self, job: PlainJob, ph: Phases) -> None:
        from . import lenet5

        self.ph, self.job, self.samples = ph, job, 0
        self.update: Any
        spec = job.spec
        self.rng = np.random.default_rng(job.params["seed"])
        ph.begin()
        if spec["sizes"]:
            s = spec["sizes"]
            self.params = []
            for a, b in zip(s[:-1], s[1:]):
                bound = 1 / math.sqrt(a)
                self.params += [self.rng.uniform(-bound, bound, (b, a)).astype(np.float32),
                                self.rng.uniform(-bound, bound, b).astype(np.float32)]
            self.lenet = None
        else:
            _, _, weights = lenet5.data({"batch": 1, "seed": job.params["seed"]})
            self.params = [weights[f"{n}.{k}"] for n, *_ in lenet5.LAYERS
                           for k in ("weight", "bias")]
            self.lenet = lenet5.Floor(np, self.params, None, np.zeros(0))
        opt = spec["opt"]
        if opt[0] == "adamw":
            self.update, self.decay = Adam(np, self.params, lr=opt[1]), opt[1] * opt[2]
        else:
            self.update = SGD(np, self.params, lr=opt[1], momentum=opt[2])
            self.decay = 0.0
        ph.end("start-up")
        ph.begin()
        parts = load_arrays(job.params, job.folder, spec)
        self.train, self.val = parts[0], parts[1]
        self.test = parts[2] if len(parts) > 2 else None
        ph.end("data")

    def _batches(self, part, shuffle: bool):
        x, y = part
        bs = self.job.spec["batch"]
        order = self.rng.permutation(len(x)) if shuffle else None
        for start in range(0, len(x), bs):
            self.ph.begin()
            if order is None:
                xb, yb = x[start:start + bs], y[start:start + bs]
            else:
                idx = order[start:start + bs]
                xb, yb = x[idx], y[idx]
            self.ph.end("data")
            yield xb, yb

    def _mlp_forward(self, x, train: bool):
        """Logits and the activations backward needs (dropout after the first ReLU)."""
        acts, h, p = [x], x, self.job.spec["dropout"]
        for i in range(0, len(self.params), 2):
            h = h @ self.params[i].T
            h += self.params[i + 1]
            if i + 2 < len(self.params):
                np.maximum(h, 0, out=h)
                if i == 0 and train and p:
                    h *= (self.rng.random(h.shape, dtype=np.float32) >= p) * np.float32(1 / (1 - p))
                acts.append(h)
        return h, acts

    def _mlp_backward(self, g, acts) -> list:
        grads = [None] * len(self.params)
        for i in range(len(self.params) - 2, -1, -2):
            a = acts[i // 2]
            grads[i], grads[i + 1] = g.T @ a, g.sum(axis=0)
            if i:
                g = g @ self.params[i]
                g *= a > 0  # dropped units are 0 too, and their gradient is 0
        return grads

    def _lenet_logits(self, x):
        f, (c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b) = self.lenet, self.params
        z1, _ = f._conv(x.transpose(1, 0, 2, 3), c1w, c1b, 2, "c1")
        p1 = f._pool(np.maximum(z1, 0))
        z2, _ = f._conv(p1, c2w, c2b, 0, "c2")
        p2 = f._pool(np.maximum(z2, 0))
        a = p2.transpose(1, 0, 2, 3).reshape(len(x), -1)
        a = np.maximum(a @ f1w.T + f1b, 0)
        a = np.maximum(a @ f2w.T + f2b, 0)
        return a @ f3w.T + f3b

    def train_epoch(self) -> tuple[float, float]:
        ph, clock = self.ph, Phases.clock
        loss_sum, correct, n, batches = 0.0, 0, 0, 0
        for x, y in self._batches(self.train, True):
            rows = np.arange(len(y))
            t0 = clock()
            if self.lenet is None:
                z, acts = self._mlp_forward(x, True)
                loss, g = cross_entropy(np, z, y, rows)
                correct += int((z.argmax(1) == y).sum())
                t1 = clock()
                grads = self._mlp_backward(g, acts)
            else:
                self.lenet.x, self.lenet.y, self.lenet.rows = x, y, rows
                t1 = clock()
                loss, grads = self.lenet()
            t2 = clock()
            clip = self.job.spec["clip"]
            if clip:
                norm = math.sqrt(sum(float((g * g).sum(dtype=np.float64)) for g in grads))
                if norm > clip:
                    grads = [g * np.float32(clip / (norm + 1e-6)) for g in grads]
            if self.decay:  # AdamW: decoupled weight decay first
                for p in self.params:
                    p *= np.float32(1 - self.decay)
            elif self.job.spec["opt"][0] == "sgd":
                wd = self.job.spec["opt"][3]
                grads = [g + wd * p for g, p in zip(grads, self.params)]
            self.update(grads)
            t3 = clock()
            loss_sum += float(loss)
            n += len(y)
            batches += 1
            ph.add(forward=t1 - t0, backward=t2 - t1, optimizer=t3 - t2)
        self.samples += n
        return loss_sum / max(batches, 1), correct / max(n, 1)

    def evaluate(self, part) -> tuple[float, float]:
        loss_sum, correct, n = 0.0, 0, 0
        for x, y in self._batches(part, False):
            z = self._mlp_forward(x, False)[0] if self.lenet is None else self._lenet_logits(x)
            loss, _ = cross_entropy(np, z, y, np.arange(len(y)))
            loss_sum += float(loss) * len(y)
            correct += int((z.argmax(1) == y).sum())
            n += len(y)
        return loss_sum / n, correct / n

    def epoch_end(self) -> None:
        pass

    def save(self, path: Path) -> None:
        np.savez(path.with_suffix(".npz"), *self.params)
