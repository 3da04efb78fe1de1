"""`torchlite export`: a checkpoint as an ONNX file, checked in ONNX Runtime; and the way back,
an exported file run as a model by `infer --checkpoint model.onnx`.

The file carries what infer needs beside the graph, as ONNX metadata: the checkpoint's config
and its preprocessing record (JSON, as the checkpoint stores them). With
`include_preprocessing` the stored normalisation is traced as the graph's first nodes (the
model then takes raw inputs, as `infer` does) and the record says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import torchlite
from torchlite import nn
from torchlite.errors import CheckpointError, UsageError

from .runs import resolve_checkpoint

FORMATS = ("onnx",)
META_CONFIG = "torchlite.config"
META_PREPROCESS = "torchlite.preprocess"
META_INCLUDED = "torchlite.preprocessing_included"
META_SOURCE = "torchlite.checkpoint"
VERIFY_SAMPLES = 8


class Preprocess(nn.Module):
    """The stored input normalisation as torchlite ops, so that export traces it into the graph:
    Standardize, Normalize, MinMax and Reshape steps (a Compose of them), with the checkpoint's
    statistics as constants."""

    def __init__(self, state: dict | None) -> None:
        super().__init__()
        self.steps: list[tuple[str, Any, Any]] = []
        self._add(state)

    def _add(self, state: dict | None) -> None:
        if state is None:
            return
        kind = state.get("type")
        if kind == "Compose":
            for s in state["transforms"]:
                self._add(s)
            return
        from .build import transform_from_state

        t = transform_from_state(state)
        if kind == "Standardize":
            self.steps.append(("affine", np.asarray(t.mean, np.float32),
                               np.asarray(t.std, np.float32)))
        elif kind == "Normalize":
            self.steps.append(("channels", t, None))
        elif kind == "MinMax":
            span = np.where(t.hi - t.lo > 0, t.hi - t.lo, 1.0)
            self.steps.append(("affine", np.asarray(t.lo, np.float32),
                               np.asarray(span, np.float32)))
        elif kind == "Reshape":
            self.steps.append(("reshape", tuple(t.shape), None))
        else:
            raise UsageError(f"--include-preprocessing: the stored {kind} step has no graph form "
                             "here; export without it and preprocess as infer does")

    def forward(self, x: torchlite.Tensor) -> torchlite.Tensor:
        for kind, a, b in self.steps:
            if kind == "affine":
                x = (x - torchlite.from_numpy(a)) / torchlite.from_numpy(b)
            elif kind == "channels":
                mean = a._broadcast(a.mean, x.numpy())
                std = a._broadcast(a.std, x.numpy())
                x = (x - torchlite.from_numpy(np.ascontiguousarray(mean))) \
                    / torchlite.from_numpy(np.ascontiguousarray(std))
            else:
                x = x.reshape(x.shape[0], *a)
        return x


class WithPreprocess(nn.Module):
    """`model(preprocess(x))`: what export traces with --include-preprocessing."""

    def __init__(self, preprocess: Preprocess, model: nn.Module) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.model = model

    def forward(self, x: torchlite.Tensor) -> torchlite.Tensor:
        return self.model(self.preprocess(x))


def export_checkpoint(target: str | Path | None = None, *, fmt: str = "onnx",
                      output: str | Path | None = None, opset: int = 17,
                      dynamic_batch: bool = False, include_preprocessing: bool = False,
                      root: str = "runs", model_code: str | None = None,
                      trust_model_code: bool = False) -> dict[str, Any]:
    """Export a checkpoint (or a run's weights) to ONNX and check the file in ONNX Runtime.

    The check runs a batch of real inputs (the checkpoint's own test data where it can be
    loaded, else random inputs of the stored shape) through torchlite and ONNX Runtime and
    reports the largest absolute difference (`max_abs_diff`), at batch 1 and, with
    `dynamic_batch`, at the whole batch too. The file goes to `output` (default: beside the
    checkpoint, with the suffix .onnx).
    """
    from torchlite.onnx.errors import require

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: unsupported (supported: {', '.join(FORMATS)})")
    onnx = require("onnx")
    require("onnxruntime")
    from torchlite.onnx.exporter import MAX_OPSET, MIN_OPSET, build_model

    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UsageError(f"--opset {opset}: supported opsets are {MIN_OPSET} to {MAX_OPSET}")
    from .restore import input_transform, model_from_checkpoint

    path = resolve_checkpoint(target, root)
    model, cfg, info = model_from_checkpoint(path, "cpu", model_code=model_code,
                                             trust_model_code=trust_model_code)
    pre = dict(info["preprocess"])
    raw, source = _real_inputs(path, cfg, pre)
    transform = input_transform(path, pre)
    if include_preprocessing:
        net: nn.Module = WithPreprocess(Preprocess(pre.get("transform")), model).eval()
        feed = raw
    else:
        net = model
        feed = transform(raw) if transform is not None else raw
    feed = np.ascontiguousarray(feed, dtype=np.float32)
    example = torchlite.from_numpy(feed if dynamic_batch else feed[:1])
    proto = build_model(net, (example,), input_names=["input"], output_names=["output"],
                        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}
                        if dynamic_batch else None, opset_version=opset)
    stored_pre = dict(pre, transform=None) if include_preprocessing else pre
    meta = {META_CONFIG: json.dumps(info["config"]), META_PREPROCESS: json.dumps(stored_pre),
            META_INCLUDED: json.dumps(bool(include_preprocessing)), META_SOURCE: str(path)}
    onnx.helper.set_model_props(proto, meta)
    out = Path(output) if output is not None else path.with_suffix(".onnx")
    from torchlite._atomic_write import atomic_write_bytes

    atomic_write_bytes(out, proto.SerializeToString())

    sizes = [1, len(feed)] if dynamic_batch and len(feed) > 1 else [1]
    diffs = {n: _max_diff(net, out, feed[:n]) for n in sizes}
    ops = sorted({n.op_type for n in proto.graph.node})
    return {"checkpoint": str(path), "output": str(out), "format": fmt, "opset": opset,
            "dynamic_batch": dynamic_batch, "include_preprocessing": include_preprocessing,
            "inputs": source, "batch_sizes": sizes, "max_abs_diff": max(diffs.values()),
            "max_abs_diff_by_batch": diffs, "nodes": len(proto.graph.node), "op_types": ops,
            "bytes": out.stat().st_size}


def _real_inputs(path: Path, cfg: Any, pre: dict) -> tuple[np.ndarray, str]:
    """Up to VERIFY_SAMPLES raw samples of the checkpoint's own data, else random ones."""
    from .build import build_data

    try:
        bundle = build_data(cfg)
        ds = bundle.test or bundle.val or bundle.train
        x = np.asarray(ds.inputs[:VERIFY_SAMPLES], dtype=np.float32)
        if tuple(x.shape[1:]) == tuple(pre["raw_shape"]) and len(x):
            return x, f"{len(x)} samples of the {cfg.data.dataset} dataset"
    except Exception as exc:  # noqa: BLE001 - any data problem: verify on random inputs
        why = f"{type(exc).__name__}: {exc}"
    else:
        why = "its samples do not match the stored input shape"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((VERIFY_SAMPLES, *pre["raw_shape"])).astype(np.float32)
    return x, f"{VERIFY_SAMPLES} random samples (the dataset could not be used: {why})"


def _max_diff(net: nn.Module, file: Path, x: np.ndarray) -> float:
    sess = _session(file)
    with torchlite.no_grad():
        want = net(torchlite.from_numpy(x)).numpy()
    (got,) = sess.run(None, {"input": x})
    if got.shape != want.shape:
        raise CheckpointError(f"{file}: ONNX Runtime gave shape {list(got.shape)} for a batch "
                              f"of {len(x)}, torchlite {list(want.shape)}")
    return float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0


def _session(file: Path, threads: int | None = None) -> Any:
    from torchlite.onnx.errors import require

    ort = require("onnxruntime")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises its own classes for a bad file
        raise CheckpointError(f"{file}: ONNX Runtime cannot load it: {exc}") from None


class OnnxRuntimeModel(nn.Module):
    """An exported file run by ONNX Runtime behind the Module interface (what `infer
    --checkpoint model.onnx` calls). Nothing in the file is imported or executed as Python."""

    def __init__(self, file: Path, session: Any) -> None:
        super().__init__()
        self.file = str(file)
        self._session = session
        first = session.get_inputs()[0]
        self._input = first.name
        # a file exported without --dynamic-batch takes batches of exactly this size
        self._batch = first.shape[0] if first.shape and isinstance(first.shape[0], int) else None

    def forward(self, x: torchlite.Tensor) -> torchlite.Tensor:
        arr = np.ascontiguousarray(torchlite.backend.to_host(x._data), dtype=np.float32)
        step = self._batch or len(arr)
        if self._batch and len(arr) % step:
            raise UsageError(f"{self.file} takes batches of {step} (exported without "
                             f"--dynamic-batch); got {len(arr)} samples")
        outs = [self._session.run(None, {self._input: arr[i:i + step]})[0]
                for i in range(0, len(arr), step)] if len(arr) else []
        out = np.concatenate(outs) if outs else np.zeros((0,), np.float32)
        return torchlite.from_numpy(out).to(x.device)


def model_from_onnx(path: Path, device: str) -> tuple[OnnxRuntimeModel, Any, dict]:
    """(model, config, info) for an exported file, as restore.model_from_checkpoint gives for
    a checkpoint; the config and preprocessing come from the file's metadata."""
    from .config import validate_config

    sess = _session(path)
    meta = sess.get_modelmeta().custom_metadata_map
    if META_CONFIG not in meta or META_PREPROCESS not in meta:
        raise CheckpointError(f"{path}: an ONNX file without torchlite's metadata (export it "
                              "with `torchlite export`); run it with ONNX Runtime directly")
    try:
        stored = json.loads(meta[META_CONFIG])
        pre = json.loads(meta[META_PREPROCESS])
        cfg = validate_config(stored)
    except Exception as exc:  # noqa: BLE001 - malformed metadata, whatever the parser says
        raise CheckpointError(f"{path}: its torchlite metadata is malformed: {exc}") from None
    model = OnnxRuntimeModel(path, sess)
    model.to(device).eval()
    return model, cfg, {"config": stored, "preprocess": pre, "epoch": None}
