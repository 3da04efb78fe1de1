"""The learning-rate range test (Leslie Smith, 2015), as `torchlite lr-find` runs it.

The config's model and optimizer train for `num_steps` batches while the learning rate grows
exponentially from `start_lr` to `end_lr`; the loss of each step is smoothed with an exponential
moving average (bias-corrected, as fastai and Lightning do) and the sweep stops once it is
`diverge_factor` times its lowest value or not finite. The suggestion is the learning rate where
the smoothed loss falls fastest against log(lr), skipping the first tenth of the sweep (its
noise) and anything after the loss diverged. Nothing is written into runs/: the model is thrown
away; only the plot and, with `apply`, a copy of the config are written.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from .config import load_config
from .loader import UsageError, load_yaml
from .prepare import prepare

__all__ = ["apply_lr", "lr_find", "lr_plot", "suggest_lr"]


def suggest_lr(lrs, smoothed, skip_begin: float = 0.1) -> float | None:
    """The lr of the steepest fall of `smoothed` against log(lr) (None: too few points)."""
    lrs, smoothed = np.asarray(lrs, dtype=np.float64), np.asarray(smoothed, dtype=np.float64)
    start = int(len(lrs) * skip_begin)
    if len(lrs) - start < 3:
        return None
    slope = np.gradient(smoothed[start:], np.log(lrs[start:]))
    return float(lrs[start + int(np.argmin(slope))])


def lr_find(config_path, overrides=(), *, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_steps: int = 100, smoothing: float = 0.98, diverge_factor: float = 4.0,
            device: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """Run the range test on a config's model, data, loss and optimizer (its scheduler is not
    used: the sweep sets the lr). Returns the lrs tried, raw and smoothed losses, the suggested
    lr and the lr of the lowest smoothed loss."""
    if not (0 < start_lr < end_lr):
        raise UsageError(f"lr-find: need 0 < start lr < end lr, got {start_lr} and {end_lr}")
    if num_steps < 5:
        raise UsageError(f"lr-find: need at least 5 steps, got {num_steps}")
    if not (0 <= smoothing < 1):
        raise UsageError(f"lr-find: smoothing must be in [0, 1), got {smoothing}")
    extra = list(overrides) + ([f"device={device}"] if device else [])
    cfg, _ = load_config(config_path, extra)
    run = prepare(cfg)
    from .threads import choose_threads

    choose_threads(threads, run.model, run.data.input_shape, cfg.data.batch_size)
    model, opt, loss_fn, loader = run.model, run.optimizer, run.loss_fn, run.train_loader
    ratio = (end_lr / start_lr) ** (1.0 / (num_steps - 1))
    lrs, losses, smoothed = [], [], []
    avg, best, stopped = 0.0, math.inf, False
    model.train()
    epoch = 0
    while len(lrs) < num_steps and not stopped:
        loader.set_epoch(epoch)
        for x, y in loader:
            lr = start_lr * ratio ** len(lrs)
            for group in opt.param_groups:
                group["lr"] = lr
            x, y = x.to(run.device), y.to(run.device)
            loss = loss_fn(run.forward(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = float(loss)
            lrs.append(lr)
            losses.append(value)
            avg = smoothing * avg + (1 - smoothing) * value
            smooth = avg / (1 - smoothing ** len(lrs))
            smoothed.append(smooth)
            if not math.isfinite(smooth) or smooth > diverge_factor * best:
                stopped = True
                break
            best = min(best, smooth)
            if len(lrs) >= num_steps:
                break
        epoch += 1
    finite = [i for i, s in enumerate(smoothed) if math.isfinite(s)]
    lowest = min(finite, key=lambda i: smoothed[i]) if finite else None
    # after the divergence point the curve says nothing about a good lr
    upto = len(lrs) - 1 if stopped else len(lrs)
    suggestion = suggest_lr(lrs[:upto], smoothed[:upto])
    return {"config": str(config_path), "name": cfg.name, "device": str(run.device),
            "optimizer": cfg.optimizer.type, "lr_in_config": cfg.optimizer.lr,
            "start_lr": start_lr, "end_lr": end_lr, "steps": len(lrs),
            "diverged": stopped, "suggested_lr": suggestion,
            "min_loss_lr": lrs[lowest] if lowest is not None else None,
            "lrs": lrs, "losses": losses, "smoothed": smoothed,
            "output_root": cfg.output.root}


def lr_plot(result: dict, path: str | Path) -> Path:
    """The smoothed loss against lr (log axis) with the suggestion marked; needs matplotlib
    (PlotsUnavailableError otherwise)."""
    from .plots import _new_figure, save_figure

    fig = _new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    ax.plot(result["lrs"], result["losses"], color="0.8", linewidth=0.8, label="loss")
    ax.plot(result["lrs"], result["smoothed"], color="C0", label="smoothed loss")
    ax.set_xscale("log")
    finite = [s for s in result["smoothed"] if math.isfinite(s)]
    if finite:  # the diverged tail would squash the useful part of the curve
        lo, hi = min(finite), finite[0]
        ax.set_ylim(lo - 0.1 * abs(hi - lo) - 1e-6, max(hi, lo) + 0.3 * abs(hi - lo) + 1e-6)
    if result["suggested_lr"] is not None:
        ax.axvline(result["suggested_lr"], color="C3", linestyle="--",
                   label=f"suggested lr {result['suggested_lr']:.3g}")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(f"{result['name']}: learning-rate range test ({result['optimizer']})")
    ax.legend()
    return save_figure(fig, path)


def apply_lr(config_path, lr: float, output: str | Path | None = None) -> Path:
    """A copy of the config with `optimizer.lr` set to `lr` (default `<stem>_lr.yaml` beside
    it, so relative paths in it still resolve). Only the lr line changes; comments stay."""
    from torchlite.serialization import atomic_write_bytes

    src = Path(config_path)
    text = src.read_text(encoding="utf-8")
    data, source = load_yaml(text, str(src))
    dest = Path(output) if output is not None else src.with_name(f"{src.stem}_lr{src.suffix}")
    if dest.resolve() == src.resolve():
        raise UsageError(f"lr-find --apply: would overwrite {src}; the copy needs another name")
    value = f"{lr:.3g}"
    new = _set_lr(text, data, source, value)
    if new is None:  # a layout the line edit does not handle: an override at the end
        raise UsageError(f"{src}: cannot find optimizer.lr to change; set it by hand to {value}")
    if isinstance(data, dict) and "name" not in data:
        new = f"name: {re.sub(r'[^A-Za-z0-9._-]', '_', dest.stem)}\n" + new
    header = f"# {src.name} with optimizer.lr {value} from torchlite lr-find\n"
    atomic_write_bytes(dest, (header + new).encode("utf-8"))
    return dest


def _set_lr(text: str, data, source, value: str) -> str | None:
    """`text` with the value of optimizer.lr replaced (block or flow style), or None."""
    opt = data.get("optimizer") if isinstance(data, dict) else None
    if not isinstance(opt, dict) or "lr" not in opt:
        return None
    where = source.locate(("optimizer", "lr"))[1] if hasattr(source, "locate") else None
    lines = text.splitlines(keepends=True)
    candidates = [where - 1] if isinstance(where, int) and where >= 1 else range(len(lines))
    for i in candidates:
        if i >= len(lines):
            continue
        new, n = re.subn(r"(\blr\s*:\s*)([^,}\s#]+)", lambda m: m.group(1) + value, lines[i],
                         count=1)
        if n:
            lines[i] = new
            return "".join(lines)
    return None
