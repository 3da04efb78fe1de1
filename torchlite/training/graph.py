"""`torchlite graph`: the autograd graph of one training batch of a config's or checkpoint's model.

The model is built the way every command builds it (`prepare(cfg, upto="model")` for a config,
`model_from_checkpoint` for a checkpoint, which imports custom model code only when told to),
one batch goes forward in training mode and through the config's loss, and `make_dot` draws the
graph behind the loss: every backward node that `loss.backward()` would run, down to the
parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import torchlite
from torchlite.errors import UsageError
from torchlite.serialization import atomic_write_bytes
from torchlite.utils.data import DataLoader

from .build import build_loss
from .config import load_config
from .preflight import check_one_batch
from .prepare import prepare
from .restore import check_batch_size, checked_forward, model_from_checkpoint
from .runs import resolve_checkpoint

__all__ = ["FORMATS", "draw_graph"]

# --output's extensions: DOT text needs no Graphviz program, the images need `dot`
FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf"}


def draw_graph(target: str | Path, output: str | Path | None = None, *,
               batch_size: int | None = None, device: str = "cpu", show_attrs: bool = False,
               show_saved: bool = False, model_code: str | None = None,
               trust_model_code: bool = False) -> dict[str, Any]:
    """Draw the graph of one batch of `target` (a YAML config, or a checkpoint or run folder)
    through its model and loss, to `output` (.svg, .png, .pdf, or .dot/.gv for DOT text; default
    ``<name>_graph.svg``; ``"-"``: write nothing and return the DOT text as "source").

    A checkpoint's batch is made up (normal inputs of its input shape, every class in turn),
    since its data may be elsewhere; a config's is its first training batch. `batch_size`
    defaults to the config's. A checkpoint's custom model needs `model_code` or
    `trust_model_code`. Returns what was drawn: name, output, format, node and parameter counts,
    input shape and loss.
    """
    fmt = _format_of(output)
    model, cfg, x, y, loss_fn = _model_and_batch(target, batch_size, device, model_code,
                                                 trust_model_code)
    from torchlite.utils.viz import graph_of, make_dot

    model.train()  # the graph training builds (dropout, batch statistics)
    with torchlite.enable_grad():
        out = checked_forward(model, x, cfg)
        loss = loss_fn(out, y)
    params = dict(model.named_parameters())
    dot = make_dot(loss, params=params, show_attrs=show_attrs, show_saved=show_saved)
    walked = graph_of(loss, params)
    result: dict[str, Any] = {
        "name": cfg.name, "format": fmt, "output": None,
        "input_shape": list(x.shape), "loss": float(loss.item()),
        "backward_nodes": len(walked.by_kind("backward")),
        "parameters": len(walked.by_kind("parameter")),
    }
    if output == "-":
        result["source"] = dot.source
        return result
    path = Path(output) if output is not None else Path(f"{cfg.name}_graph.svg")
    data = dot.source.encode() if fmt == "dot" else dot.pipe(format=fmt)
    result["output"] = str(atomic_write_bytes(path, data))
    return result


def _format_of(output: str | Path | None) -> str:
    if output is None:
        return "svg"
    if str(output) == "-":
        return "dot"
    suffix = Path(output).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--output {output}: unsupported extension {suffix!r} (use "
                         f"{', '.join(FORMATS)})")
    return FORMATS[suffix]


def _model_and_batch(target, batch_size, device, model_code, trust_model_code):
    """(model, cfg, inputs, targets, loss function) on `device`."""
    p = Path(target)
    if p.suffix.lower() in (".yaml", ".yml"):
        cfg, _ = load_config(p)
        run = prepare(cfg, upto="model", device=device)
        run.loss_fn = _to(build_loss(cfg), device)
        check_one_batch(run)  # a model that does not fit the data or loss: a config error
        n = batch_size or cfg.data.batch_size
        x, y = next(iter(DataLoader(run.data.train, batch_size=n)))
        return run.model, cfg, x.to(device), y.to(device), run.loss_fn
    path = resolve_checkpoint(p)
    model, cfg, info = model_from_checkpoint(path, device, model_code=model_code,
                                             trust_model_code=trust_model_code)
    pre = info["preprocess"]
    n = batch_size or cfg.data.batch_size
    if batch_size is None:  # the stored size is the file's word, the option the user's
        check_batch_size(path, n, pre["input_shape"], "its config's data.batch_size",
                         "; pass a smaller --batch-size")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, *pre["input_shape"])).astype(np.float32)
    if pre.get("input_dtype") == "int64":  # token ids: small valid ids, fed as integers
        x = np.zeros((n, *pre["input_shape"]), np.int64)
    if pre["task"] == "classification":
        y = np.arange(n, dtype=np.int64) % int(pre["num_classes"])
    else:
        y = np.zeros((n, int(pre.get("targets_dim") or 1)), np.float32)
    return (model, cfg, torchlite.tensor(x).to(device), torchlite.tensor(y).to(device),
            _to(build_loss(cfg), device))


def _to(loss_fn, device):
    return loss_fn.to(device) if hasattr(loss_fn, "to") else loss_fn
