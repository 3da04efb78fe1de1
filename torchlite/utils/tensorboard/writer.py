"""`SummaryWriter`: TensorBoard event files with `torch.utils.tensorboard`'s API.

tensorboardX (the optional extra: `pip install 'torchlite[tensorboard]'`) builds every record
(its `summary` functions make the Summary protobufs, PNG images included) and frames them in the
event file (its `EventsWriter`: TFRecord framing with CRCs); this module converts torchlite
Tensors (CPU or GPU) to NumPy, keeps PyTorch's names, arguments, defaults and folder layout, and
decides when records reach the disk. It writes from the caller's thread rather than through
tensorboardX's queue, whose `flush()` does not wait for queued events: here `flush()` means what
PyTorch's does, every event added so far is on disk. tensorboardX is imported when a writer is
created, never at `import torchlite`.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from torchlite.backend import to_host
from torchlite.tensor import Tensor

__all__ = ["SummaryWriter", "to_numpy"]

INSTALL_HINT = "pip install 'torchlite[tensorboard]'"
_FILE_IDS = itertools.count()  # with the pid, keeps two files opened in one second apart


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


class _EventFile:
    """One event file in `log_dir`, named as PyTorch names them
    (``events.out.tfevents.<time>.<host>.<pid>.<n><suffix>``). Records are buffered and reach
    the disk when `max_queue` of them wait, every `flush_secs` seconds (a daemon thread), and on
    `flush()` / `close()`."""

    def __init__(self, log_dir: str, max_queue: int, flush_secs: float, suffix: str,
                 purge_step: int | None = None) -> None:
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog

        os.makedirs(log_dir, exist_ok=True)
        self.log_dir = log_dir
        self._Event = Event
        self._max_queue = max(int(max_queue), 1)
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._events = EventsWriter(os.path.join(log_dir, "events"),
                                    f".{os.getpid()}.{next(_FILE_IDS)}{suffix}")
        if purge_step is not None:  # TensorBoard hides older events from this step on
            self.add_event(Event(step=purge_step, file_version="brain.Event:2"))
            self.add_event(Event(step=purge_step,
                                 session_log=SessionLog(status=SessionLog.START)))
        self._stop = threading.Event()
        self._timer = threading.Thread(target=_flush_every, daemon=True,
                                       args=(self._events, self._stop, float(flush_secs)))
        self._timer.start()
        # a writer never closed still gets its events to disk: when collected, or at exit
        self._finalizer = weakref.finalize(self, _finish, self._events, self._stop)

    def add_event(self, event: Any, step: int | None = None,
                  walltime: float | None = None) -> None:
        event.wall_time = time.time() if walltime is None else float(walltime)
        if step is not None:
            event.step = int(step)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the event file in {self.log_dir} is closed")
            self._events.write_event(event)
            self._pending += 1
            if self._pending >= self._max_queue:
                self._flush_locked()

    def add_summary(self, summary: Any, step: int | None = None,
                    walltime: float | None = None) -> None:
        self.add_event(self._Event(summary=summary), step, walltime)

    def _flush_locked(self) -> None:
        self._events.flush()
        self._pending = 0

    def flush(self) -> None:
        with self._lock:
            if not self._closed:
                self._flush_locked()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._finalizer.detach()
            _finish(self._events, self._stop)
        self._timer.join()


def _finish(events: Any, stop: threading.Event) -> None:
    stop.set()
    events.close()


def _flush_every(events: Any, stop: threading.Event, seconds: float) -> None:
    # holds the EventsWriter, not the _EventFile: a writer dropped without close() still goes
    while not stop.wait(seconds):
        try:
            events.flush()
        except (OSError, ValueError):  # closed meanwhile
            return


class SummaryWriter:
    """Writes scalars, histograms, images, text, hyper-parameters and the autograd graph to a
    TensorBoard event file in `log_dir`, as `torch.utils.tensorboard.SummaryWriter`.

    `log_dir` defaults to ``runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>``. Events reach
    the disk when `max_queue` of them wait, at least every `flush_secs` seconds, and on
    `flush()` / `close()` (or leaving a `with` block). `purge_step` hides, in TensorBoard, the
    events of an earlier (crashed) run in the same folder at or after that step.
    `filename_suffix` ends the event file's name. Values may be torchlite Tensors (CPU or GPU),
    NumPy arrays or Python numbers.

    Raises ImportError naming the extra to install when tensorboardX is missing.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        self._tbx = _require_tensorboardx()
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._files: dict[str, _EventFile] = {}  # by folder: log_dir and add_scalars' sub-runs
        self._file()

    def _file(self, folder: str | None = None) -> _EventFile:
        """The open event file of `folder` (default log_dir), opened anew after close()."""
        folder = self.log_dir if folder is None else folder
        f = self._files.get(folder)
        if f is None:
            purge = None
            if folder == self.log_dir:  # as PyTorch: the purge goes into the first file only
                purge, self.purge_step = self.purge_step, None
            f = self._files[folder] = _EventFile(folder, self.max_queue, self.flush_secs,
                                                 self.filename_suffix, purge)
        return f

    def get_logdir(self) -> str:
        """The folder the event files go to."""
        return self.log_dir

    # -- scalars --------------------------------------------------------------------------------
    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """One value of the series `tag` at `global_step` (a one-element Tensor or array, or a
        number). `new_style` and `double_precision` are accepted for PyTorch compatibility; the
        value is stored as TensorBoard's float `simple_value` either way."""
        summary = self._tbx.summary.scalar(tag, _scalar(scalar_value))
        self._file().add_summary(summary, global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: Mapping[str, Any],
                    global_step: int | None = None, walltime: float | None = None) -> None:
        """Several series drawn on one chart `main_tag`: as in PyTorch, each `tag` goes to its
        own sub-run ``<log_dir>/<main_tag>_<tag>`` (a '/' in `main_tag` becomes '_')."""
        walltime = time.time() if walltime is None else walltime
        values = {k: _scalar(v) for k, v in tag_scalar_dict.items()}
        for tag, value in values.items():
            sub = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + tag)
            self._file(sub).add_summary(self._tbx.summary.scalar(main_tag, value), global_step,
                                        walltime)

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
        if isinstance(bins, str) and bins == "tensorflow":
            bins = _default_bins()
        summary = self._tbx.summary.histogram(tag, arr.astype(np.float64, copy=False), bins,
                                              max_bins=max_bins)
        self._file().add_summary(summary, global_step, walltime)

    # -- images ---------------------------------------------------------------------------------
    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        """One image: `dataformats` "CHW", "HWC" or "HW" (1 or 3 channels; 4 with alpha);
        float values in [0, 1] (scaled by 255) or uint8 values in [0, 255]."""
        arr = _image_array(img_tensor, dataformats, {"CHW", "HWC", "HW"})
        summary = self._tbx.summary.image(tag, arr, dataformats=dataformats.upper())
        self._file().add_summary(summary, global_step, walltime)

    def add_images(self, tag: str, img_tensor: Any, global_step: int | None = None,
                   walltime: float | None = None, dataformats: str = "NCHW") -> None:
        """A batch of images shown as one grid: `dataformats` "NCHW", "NHWC" or "NHW"."""
        arr = _image_array(img_tensor, dataformats, {"NCHW", "NHWC", "NHW"})
        summary = self._tbx.summary.image(tag, arr, dataformats=dataformats.upper())
        self._file().add_summary(summary, global_step, walltime)

    # -- text and hyper-parameters ----------------------------------------------------------------
    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Text (Markdown) under `tag`."""
        self._file().add_summary(self._tbx.summary.text(tag, str(text_string)), global_step,
                                 walltime)

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
        experiment, start, end = self._tbx.summary.hparams(hparams, metrics)
        folder = os.path.join(self.log_dir, run_name or str(time.time()))
        f = _EventFile(folder, self.max_queue, self.flush_secs, self.filename_suffix)
        try:
            for summary in (experiment, start, end):
                f.add_summary(summary)
            for k, v in metrics.items():
                f.add_summary(self._tbx.summary.scalar(k, v), global_step)
        finally:
            f.close()

    # -- the graph ------------------------------------------------------------------------------
    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """The autograd graph of one forward pass of `model` on `input_to_model` (a Tensor or a
        tuple of them) for TensorBoard's Graphs tab: backward nodes (``LinearBackward0``, ...)
        and the parameters by name and shape, from the same walk as
        `torchlite.utils.viz.make_dot` (see `graph.graph_def_of`: the model is left as it
        was). `verbose` and `use_strict_trace` are accepted for PyTorch compatibility."""
        from tensorboardX.proto.event_pb2 import Event

        from .graph import graph_def_of

        graph = graph_def_of(model, input_to_model)
        self._file().add_event(Event(graph_def=graph.SerializeToString()))

    # -- files ----------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every event added so far to disk."""
        for f in self._files.values():
            f.flush()

    def close(self) -> None:
        """Flush and close the event files (a later add_* opens a new file)."""
        for f in self._files.values():
            f.close()
        self._files.clear()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _default_bins() -> list[float]:
    """TensorBoard's default buckets: 0 and +-1e-12 growing by 10% up to 1e20."""
    global _BINS
    if _BINS is None:
        pos, v = [], 1e-12
        while v < 1e20:
            pos.append(v)
            v *= 1.1
        _BINS = [-x for x in reversed(pos)] + [0.0] + pos
    return _BINS


_BINS: list[float] | None = None


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
        arr = np.clip(arr, 0.0, 1.0)  # as PyTorch: out-of-range values saturate, never wrap
    return arr
