"""Variable-length sequences, as `torch.nn.utils.rnn`: padding (pad_sequence, unpad_sequence) and
packing (PackedSequence, pack_padded_sequence, pad_packed_sequence, pack_sequence,
unpack_sequence), which nn.RNN, nn.LSTM and nn.GRU accept.

Every conversion is one `index_select` of rows (plus a padding row), so gradients flow through
padding and packing alike. A PackedSequence holds the valid time steps only, time-major: with
sequences sorted by decreasing length, step t holds the first `batch_sizes[t]` of them.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable

import numpy as np

from ... import backend
from ...ops.creation import full
from ...ops.indexing import index_select
from ...ops.join import cat
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _host_ints(x, name: str) -> np.ndarray:
    """A 1-D int64 NumPy array from a list or tensor (of any device) of lengths or indices."""
    if isinstance(x, Tensor):
        x = backend.to_host(x._data)
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must be a 1-D sequence or tensor of integers, got "
                         f"{arr.dtype} of shape {arr.shape}")
    return arr.astype(np.int64)


def _index(arr: np.ndarray, like: Tensor) -> Tensor:
    """An int64 index tensor on `like`'s device."""
    return Tensor._make(backend.move(np.ascontiguousarray(arr, dtype=np.int64), like._device),
                        like._device)


def _rows(src: Tensor, idx: np.ndarray, padding_value=None) -> Tensor:
    """src's rows (dim 0) at `idx`; with a padding_value, an index equal to len(src) reads a row
    filled with it."""
    if padding_value is not None:
        pad = full((1,) + tuple(src.shape[1:]), padding_value, dtype=src.dtype,
                   device=src.device)
        src = cat([src, pad], 0)
    return index_select(src, 0, _index(idx, src))


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices",
                                                    "unsorted_indices"])):
    """The valid steps of a batch of sequences, packed time-major (as PyTorch's; a named tuple).

    data (sum(lengths), *): step 0 of every sequence, then step 1 of those longer than 1, ...,
    in order of decreasing length. batch_sizes: int64 CPU tensor, the number of sequences at
    each step. sorted_indices / unsorted_indices: the permutation from the caller's batch order
    to decreasing length and back (None when the input was already sorted).
    Made by pack_padded_sequence or pack_sequence, not by hand.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), ...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        if batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence "
                             "should never be created manually: use pack_sequence or "
                             "pack_padded_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """`data.to(...)`; the index tensors follow data's device, batch_sizes stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t):
            return None if t is None else t.to(data.device)

        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cuda(self, device=None) -> PackedSequence:
        return self.to("cuda" if device is None else backend.device(device))

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=backend.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=backend.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=backend.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=backend.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=backend.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=backend.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=backend.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=backend.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation tensor (None for None)."""
    if permutation is None:
        return None
    p = _host_ints(permutation, "permutation")
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size)
    return _index(inv, permutation)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shape (L_i, *) into one padded tensor, as PyTorch's.

    Shape: -> (T, B, *) with T = max L_i, or (B, T, *) with batch_first; padding_side "left"
    puts the padding before each sequence. The result has sequences[0]'s dtype. Differentiable.
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}")
    seqs = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: expected Tensors, got {type(s).__name__} at {i}")
        if s.ndim == 0:
            raise RuntimeError(f"pad_sequence: sequence {i} is a 0-d tensor; each needs a "
                               "leading length dim")
        if tuple(s.shape[1:]) != tuple(seqs[0].shape[1:]):
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}, but "
                               f"sequence 0 has trailing dims {tuple(seqs[0].shape[1:])}")
    dt = seqs[0].dtype
    data = cat([s if s.dtype == dt else s.to(dt) for s in seqs], 0)
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    T, n = int(lengths.max()), int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    t = np.arange(T)[None, :]
    if padding_side == "right":
        pos = t
    else:
        pos = t - (T - lengths)[:, None]
    valid = (pos >= 0) & (pos < lengths[:, None])
    idx = np.where(valid, starts[:, None] + pos, n)  # (B, T); n reads the padding row
    if not batch_first:
        idx = idx.T
    out = _rows(data, idx.reshape(-1), padding_value)
    return out.reshape(idx.shape + tuple(data.shape[1:]))


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The inverse of pad_sequence (right padding): a list of (L_i, *) tensors. Unlike
    PyTorch's, it leaves `padded_sequences` as it was (PyTorch transposes it in place)."""
    lens = _host_ints(lengths, "lengths")
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    if lens.size != x.shape[0]:
        raise ValueError(f"unpad_sequence: {x.shape[0]} sequences but {lens.size} lengths")
    return [x[b, :int(n)] for b, n in enumerate(lens)]


def _layout(lengths: np.ndarray, T: int, B: int):
    """The flat (t * B + b) positions, in a time-major (T, B) padded tensor, of the valid steps
    of sequences sorted by decreasing length, and the batch sizes per step."""
    valid = np.arange(T)[:, None] < lengths[None, :]
    batch_sizes = valid.sum(axis=1)
    return np.flatnonzero(valid), batch_sizes[batch_sizes > 0]


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences with the
    given lengths. With enforce_sorted (the default) the lengths must be decreasing; else the
    batch is sorted here and the permutation kept in the result. Differentiable."""
    lens = _host_ints(lengths, "lengths")
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    bdim = 0 if batch_first else 1
    if input.ndim < 2 or input.shape[bdim] != lens.size:
        raise RuntimeError(f"pack_padded_sequence: input of shape {tuple(input.shape)} does not "
                           f"hold {lens.size} sequences along dim {bdim}")
    T = input.shape[1 - bdim]
    if lens.size and lens.max() > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {int(lens.max())} exceeds the "
                           f"{T} steps of the input")
    sorted_indices = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = _index(order, input)
        input = index_select(input, bdim, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    B = lens.size
    flat, batch_sizes = _layout(lens, T, B)
    data = _rows(input.reshape((T * B,) + tuple(input.shape[2:])), flat)
    bs = Tensor._make(batch_sizes.astype(np.int64), backend.CPU)
    return PackedSequence(data, bs, sorted_indices, None)


def _lengths_of(batch_sizes: np.ndarray) -> np.ndarray:
    """Each (sorted) sequence's length from the batch sizes per step."""
    B = int(batch_sizes[0]) if batch_sizes.size else 0
    return (batch_sizes[None, :] > np.arange(B)[:, None]).sum(axis=1)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """Unpack to (padded (T, B, *) or (B, T, *), lengths (B,) int64 CPU tensor), in the batch
    order given to pack_padded_sequence; T is the longest length, or `total_length`."""
    data, batch_sizes = sequence.data, _host_ints(sequence.batch_sizes, "batch_sizes")
    T = batch_sizes.size
    if total_length is not None:
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {T}")
        T = total_length
    lens = _lengths_of(batch_sizes)
    B = lens.size
    flat, _ = _layout(lens, T, B)
    pos = np.full(T * B, data.shape[0], dtype=np.int64)  # default: the padding row
    pos[flat] = np.arange(flat.size)
    if batch_first:
        pos = pos.reshape(T, B).T.reshape(-1)
    out = _rows(data, pos, padding_value)
    out = out.reshape(((B, T) if batch_first else (T, B)) + tuple(data.shape[1:]))
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices
        out = index_select(out, 0 if batch_first else 1, unsorted)
        lens = lens[_host_ints(unsorted, "unsorted_indices")]
    return out, Tensor._make(lens.astype(np.int64), backend.CPU)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors (decreasing lengths unless enforce_sorted=False)."""
    seqs = list(sequences)
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of (L_i, *) tensors a PackedSequence holds, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


# ---- for nn.RNN / LSTM / GRU -----------------------------------------------------------------


def _unpack_for_rnn(sequence: PackedSequence):
    """(x (T, B, *) time-major in sorted order with zeros past each end, inactive (T, B, 1)
    bool array on x's device: True past each sequence's end)."""
    x, _ = pad_packed_sequence(PackedSequence(sequence.data, sequence.batch_sizes))
    bs = _host_ints(sequence.batch_sizes, "batch_sizes")
    inactive = np.arange(int(bs[0]))[None, :] >= bs[:, None]
    return x, backend.move(inactive[:, :, None], x._device)


def _pack_rnn_output(out: Tensor, sequence: PackedSequence) -> PackedSequence:
    """Pack an RNN's (T, B, H) output (sorted order) like `sequence`."""
    bs = _host_ints(sequence.batch_sizes, "batch_sizes")
    T, B = out.shape[0], out.shape[1]
    flat, _ = _layout(_lengths_of(bs), T, B)
    data = _rows(out.reshape(T * B, out.shape[2]), flat)
    return PackedSequence(data, sequence.batch_sizes, sequence.sorted_indices,
                          sequence.unsorted_indices)
