"""`SummaryWriter`: TensorBoard event files with `torch.utils.tensorboard`'s API.

The files are written by tensorboardX (the optional extra: `pip install 'torchlite[tensorboard]'`),
which owns the protobufs, the TFRecord framing and the background flushing; this class converts
torchlite Tensors (CPU or GPU) to NumPy and keeps PyTorch's names, arguments and defaults.
tensorboardX is imported when a writer is created, never at `import torchlite`.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from torchlite.backend import to_host
from torchlite.tensor import Tensor

__all__ = ["SummaryWriter", "to_numpy"]

INSTALL_HINT = "pip install 'torchlite[tensorboard]'"


def _require_tensorboardx():
    try:
        import tensorboardX
    except ImportError as exc:
        raise ImportError(f"TensorBoard logging needs the tensorboardX package: {INSTALL_HINT}"
                          ) from exc
    return tensorboardX


def to_numpy(value: Any) -> Any:
    """A torchlite Tensor (or a CuPy array) as a NumPy array; anything else is returned as is.

    The values are copied off the graph (no gradient is recorded) and, from a GPU, to the host.
    """
    if isinstance(value, Tensor):
        return to_host(value._data)
    if type(value).__module__.split(".")[0] == "cupy":
        return to_host(value)
    return value


def _scalar(value: Any) -> float:
    arr = np.asarray(to_numpy(value))
    if arr.size != 1:
        raise ValueError(f"a scalar must hold one value, got shape {tuple(arr.shape)}")
    return float(arr.reshape(()))


class SummaryWriter:
    """Writes scalars, histograms, images, text, hyper-parameters and the autograd graph to a
    TensorBoard event file in `log_dir`, as `torch.utils.tensorboard.SummaryWriter`.

    `log_dir` defaults to ``runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>``. Events are
    queued and written in the background: at most `max_queue` pending ones, at least every
    `flush_secs` seconds, and on `flush()` / `close()` (or leaving a `with` block).
    `purge_step` hides, in TensorBoard, the events of an earlier (crashed) run at or after that
    step. Values may be torchlite Tensors, NumPy arrays or Python numbers.

    Raises ImportError naming the extra to install when tensorboardX is missing.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        tbx = _require_tensorboardx()
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._tbx = tbx
        self._sub_writers: dict[str, Any] = {}  # add_scalars' sub-runs, by folder
        self._writer = tbx.SummaryWriter(
            logdir=self.log_dir, purge_step=purge_step, max_queue=max_queue,
            flush_secs=flush_secs, filename_suffix=filename_suffix)

    def get_logdir(self) -> str:
        """The folder the event files go to."""
        return self.log_dir

    def _file_writer(self):
        # tensorboardX reopens a closed writer on the next add_*, as PyTorch's does
        return self._writer._get_file_writer()

    # -- scalars --------------------------------------------------------------------------------
    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """One value of the series `tag` at `global_step` (a one-element Tensor or array, or a
        number). `new_style` and `double_precision` are accepted for PyTorch compatibility; the
        value is stored as TensorBoard's float `simple_value` either way."""
        self._writer.add_scalar(tag, _scalar(scalar_value), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: Mapping[str, Any],
                    global_step: int | None = None, walltime: float | None = None) -> None:
        """Several series drawn on one chart `main_tag`: as in PyTorch, each `tag` goes to its
        own sub-run ``<log_dir>/<main_tag>_<tag>`` (a '/' in `main_tag` becomes '_')."""
        from tensorboardX.summary import scalar

        walltime = time.time() if walltime is None else walltime
        values = {k: _scalar(v) for k, v in tag_scalar_dict.items()}
        root = self._file_writer().get_logdir()
        for tag, value in values.items():
            sub = os.path.join(root, main_tag.replace("/", "_") + "_" + tag)
            fw = self._sub_writers.get(sub)
            if fw is None:
                fw = self._sub_writers[sub] = self._tbx.FileWriter(
                    sub, self.max_queue, self.flush_secs, self.filename_suffix)
            fw.add_summary(scalar(main_tag, value), global_step, walltime)

    # -- distributions ----------------------------------------------------------------------------
    def add_histogram(self, tag: str, values: Any, global_step: int | None = None,
                      bins: str | int | Any = "tensorflow", walltime: float | None = None,
                      max_bins: int | None = None) -> None:
        """A histogram of `values` (any shape, flattened). `bins`: "tensorflow" (TensorBoard's
        default exponential buckets), a NumPy bin rule ("auto", "fd", ...), a count or edges."""
        arr = np.asarray(to_numpy(values))
        if arr.size == 0:
            raise ValueError(f"add_histogram({tag!r}): values are empty")
        if not np.isfinite(arr).all():
            raise ValueError(f"add_histogram({tag!r}): values hold NaN or Inf")
        self._writer.add_histogram(tag, arr.astype(np.float64, copy=False), global_step,
                                   bins=bins, walltime=walltime, max_bins=max_bins)

    # -- images ---------------------------------------------------------------------------------
    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        """One image: `dataformats` "CHW", "HWC" or "HW" (1 or 3 channels; 4 with alpha);
        float values in [0, 1] (scaled by 255) or uint8 values in [0, 255]."""
        arr = _image_array(img_tensor, dataformats, {"CHW", "HWC", "HW"})
        self._writer.add_image(tag, arr, global_step, walltime, dataformats=dataformats.upper())

    def add_images(self, tag: str, img_tensor: Any, global_step: int | None = None,
                   walltime: float | None = None, dataformats: str = "NCHW") -> None:
        """A batch of images shown as one grid: `dataformats` "NCHW", "NHWC" or "NHW"."""
        arr = _image_array(img_tensor, dataformats, {"NCHW", "NHWC", "NHW"})
        self._writer.add_images(tag, arr, global_step, walltime,
                                dataformats=dataformats.upper())

    # -- text and hyper-parameters ----------------------------------------------------------------
    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Text (Markdown) under `tag`."""
        self._writer.add_text(tag, str(text_string), global_step, walltime)

    def add_hparams(self, hparam_dict: Mapping[str, Any], metric_dict: Mapping[str, Any],
                    hparam_domain_discrete: Mapping[str, list] | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """One trial for TensorBoard's HParams tab: its hyper-parameters (bool, str, int, float;
        anything else is recorded as its text) and final metrics, written, as PyTorch does, into
        the sub-run ``<log_dir>/<run_name>`` (default: the current time). The metric tags should
        differ from those of `add_scalar`. `hparam_domain_discrete` is accepted for PyTorch
        compatibility and not recorded."""
        if not isinstance(hparam_dict, Mapping) or not isinstance(metric_dict, Mapping):
            raise TypeError("hparam_dict and metric_dict should be dictionaries")
        hparams = {k: v if isinstance(v, (bool, str, int, float)) else str(to_numpy(v))
                   for k, v in hparam_dict.items()}
        metrics = {k: _scalar(v) for k, v in metric_dict.items()}
        self._file_writer()  # tensorboardX's add_hparams needs an open writer
        self._writer.add_hparams(hparams, metrics, name=run_name or str(time.time()),
                                 global_step=global_step)

    # -- the graph ------------------------------------------------------------------------------
    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """The autograd graph of one forward pass of `model` on `input_to_model` (a Tensor or a
        tuple of them) for TensorBoard's Graphs tab: backward nodes (``AddmmBackward0``, ...)
        and the parameters by name and shape, from the same walk as
        `torchlite.utils.viz.make_dot`. The forward runs with gradients enabled and the model's
        parameters untouched (no backward, no step). `verbose` and `use_strict_trace` are
        accepted for PyTorch compatibility."""
        from .graph import graph_def_of

        graph = graph_def_of(model, input_to_model)
        self._file_writer().add_onnx_graph(graph)  # an Event holding a GraphDef

    # -- files ----------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every pending event to disk now."""
        self._writer.flush()
        for fw in self._sub_writers.values():
            fw.flush()

    def close(self) -> None:
        """Flush and close the event files (a later add_* opens a new file)."""
        self._writer.close()
        for fw in self._sub_writers.values():
            fw.close()
        self._sub_writers.clear()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _image_array(img: Any, dataformats: str, allowed: set[str]) -> np.ndarray:
    fmt = dataformats.upper()
    if fmt not in allowed:
        raise ValueError(f"dataformats must be one of {', '.join(sorted(allowed))}, got "
                         f"{dataformats!r}")
    arr = np.asarray(to_numpy(img))
    if arr.ndim != len(fmt):
        raise ValueError(f"an image in {fmt} format has {len(fmt)} dimensions, got shape "
                         f"{tuple(arr.shape)}")
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float32, copy=False)
        if arr.size and not np.isfinite(arr).all():
            raise ValueError("image values hold NaN or Inf")
    return arr
