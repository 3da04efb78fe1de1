"""Lazy modules (LazyLinear, LazyConv1d/2d/3d, LazyBatchNorm1d/2d/3d): the input size is read
from the first input. Until then the parameters are UninitializedParameter placeholders, so an
optimizer may already hold them; the first forward gives them their shapes and PyTorch's
initial values (in place: the same Parameter objects) and turns the module into the eager class
(a LazyLinear becomes a Linear), as PyTorch does."""

from __future__ import annotations

from ...tensor import Tensor
from ..module import Module
from ..parameter import Parameter
from .conv import Conv1d, Conv2d, Conv3d
from .linear import Linear
from .normalization import BatchNorm1d
from .normalization_2d import BatchNorm2d
from .normalization_3d import BatchNorm3d

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d",
           "LazyConv3d", "LazyLinear", "UninitializedBuffer", "UninitializedParameter"]


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (a lazy module's, before its first input)."""

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    def materialize(self, data: Tensor) -> None:
        """Take the values (and so the shape) of `data`, and become a plain Parameter."""
        self.data = data.detach()
        self.__class__ = Parameter


class UninitializedBuffer(Tensor):
    """A buffer whose shape is not known yet."""


def _placeholder(requires_grad: bool = True) -> UninitializedParameter:
    import torchlite

    return UninitializedParameter(torchlite.empty(0), requires_grad=requires_grad)


class _LazyMixin:
    """Builds the eager module from the first input and copies it into this one."""

    cls_to_become: type
    _lazy_args: tuple
    _lazy_kwargs: dict

    def _size_from(self, input: Tensor) -> int:
        raise NotImplementedError

    def has_uninitialized_params(self) -> bool:
        return any(isinstance(p, UninitializedParameter) for p in self.parameters())

    def _size_from_state(self, state_dict, prefix: str) -> int | None:
        raise NotImplementedError

    def initialize_parameters(self, input: Tensor) -> None:
        if self.has_uninitialized_params():
            self._materialize(self._size_from(input), input.device)

    def _load_from_state_dict(self, state_dict, prefix, *rest) -> None:
        # a state dict loaded before the first input sizes the module, as in PyTorch
        if self.has_uninitialized_params():
            size = self._size_from_state(state_dict, prefix)
            if size is not None:
                self._materialize(size, None)
        if isinstance(self, _LazyMixin):  # still lazy: nothing of ours in the dict
            Module._load_from_state_dict(self, state_dict, prefix, *rest)
        else:  # now the eager class, whose loading (BatchNorm's, say) takes over
            type(self)._load_from_state_dict(self, state_dict, prefix, *rest)

    def _materialize(self, size: int, device) -> None:
        eager = self.cls_to_become(size, *self._lazy_args, **self._lazy_kwargs)
        placeholder = next((p for p in self.parameters()), None)
        # the placeholders' dtype and device (a .double() or .to() before the first input)
        eager = eager.to(dtype=placeholder.dtype, device=placeholder.device) \
            if placeholder is not None else (eager.to(device) if device is not None else eager)
        for name, value in eager._parameters.items():
            mine = self._parameters.get(name)
            if isinstance(mine, UninitializedParameter) and value is not None:
                mine.materialize(value)  # the same object: an optimizer holding it keeps it
        for name, value in eager._buffers.items():
            self._buffers[name] = value
        for key, value in eager.__dict__.items():  # in_features, stride, ... (not hooks)
            if key not in self.__dict__:
                self.__dict__[key] = value
        self.__class__ = self.cls_to_become

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], Tensor) and self.has_uninitialized_params():
            self.initialize_parameters(args[0])
        return Module.__call__(self, *args, **kwargs)

    def forward(self, *args, **kwargs):  # reached only when the input is not a Tensor
        raise RuntimeError(f"{type(self).__name__} needs a Tensor input to infer its size")


def _lazy_weighted(eager: type, size_of, doc: str) -> type:
    """A lazy Linear or Conv: LazyX(*eager's arguments after the inferred one, bias=True)."""

    def __init__(self, *args, bias: bool = True, **kwargs) -> None:
        Module.__init__(self)
        self._lazy_args, self._lazy_kwargs = args, dict(kwargs, bias=bias)
        self.weight = _placeholder()
        self.bias = _placeholder() if bias else None

    def _size_from_state(self, state_dict, prefix):
        weight = state_dict.get(prefix + "weight")
        if weight is None:
            return None
        if eager is Linear:
            return int(weight.shape[1])
        groups = self._lazy_args[5] if len(self._lazy_args) > 5 else \
            self._lazy_kwargs.get("groups", 1)
        return int(weight.shape[1]) * int(groups)

    cls = type(f"Lazy{eager.__name__}", (_LazyMixin, Module),
               {"__init__": __init__, "cls_to_become": eager, "__doc__": doc,
                "_size_from": lambda self, input: size_of(input),
                "_size_from_state": _size_from_state, "__module__": __name__})
    return cls


def _lazy_norm(eager: type, doc: str) -> type:
    """A lazy BatchNorm: LazyBatchNormXd(eps, momentum, affine, track_running_stats)."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        Module.__init__(self)
        self._lazy_args = (eps, momentum, affine, track_running_stats)
        self._lazy_kwargs = {}
        self.weight = _placeholder() if affine else None
        self.bias = _placeholder() if affine else None
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            self.register_buffer(name, None)

    def has_uninitialized_params(self) -> bool:  # with affine=False only the buffers wait
        return self.__class__ is not eager

    def _size_from_state(self, state_dict, prefix):
        for name in ("running_mean", "weight"):
            value = state_dict.get(prefix + name)
            if value is not None:
                return int(value.shape[0])
        return None

    return type(f"Lazy{eager.__name__}", (_LazyMixin, Module),
                {"__init__": __init__, "cls_to_become": eager, "__doc__": doc,
                 "has_uninitialized_params": has_uninitialized_params,
                 "_size_from_state": _size_from_state,
                 "_size_from": lambda self, input: _channels(input), "__module__": __name__})


def _channels(input: Tensor) -> int:
    return int(input.shape[1] if input.ndim > 1 else input.shape[0])


LazyLinear = _lazy_weighted(Linear, lambda x: int(x.shape[-1]),
                            "Linear with in_features = the first input's last dim: "
                            "LazyLinear(out_features, bias=True).")
def _conv_channels(spatial: int):
    """The channel count of a conv input: dim 0 unbatched (spatial + 1 dims), else dim 1."""
    return lambda x: int(x.shape[0] if x.ndim == spatial + 1 else x.shape[1])


LazyConv1d = _lazy_weighted(Conv1d, _conv_channels(1), "Conv1d with in_channels read from the "
                            "first input: LazyConv1d(out_channels, kernel_size, ...).")
LazyConv2d = _lazy_weighted(Conv2d, _conv_channels(2), "Conv2d with in_channels read from the "
                            "first input: LazyConv2d(out_channels, kernel_size, ...).")
LazyConv3d = _lazy_weighted(Conv3d, _conv_channels(3), "Conv3d with in_channels read from the "
                            "first input: LazyConv3d(out_channels, kernel_size, ...).")
LazyBatchNorm1d = _lazy_norm(BatchNorm1d, "BatchNorm1d with num_features from the first input.")
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, "BatchNorm2d with num_features from the first input.")
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, "BatchNorm3d with num_features from the first input.")
