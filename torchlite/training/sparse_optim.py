"""Optimizers for models with sparse gradients (Embedding / EmbeddingBag with sparse: true).

PyTorch's common pattern is two optimizers: SparseAdam for the embedding tables, whose gradients
are sparse, and a dense one (Adam, ...) for every other parameter. A config says it as

    optimizer: {type: SparseAdam, lr: 0.01, dense: {type: Adam, lr: 0.001}}

and the trainer gets one `SplitOptimizer` that steps both. SGD and Adagrad take sparse
gradients themselves and need no split; other optimizers are refused before the run starts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from torchlite.optim import Optimizer

# the optimizers whose step accepts a sparse gradient
SPARSE_CAPABLE = ("SparseAdam", "SGD", "Adagrad")


def sparse_parameters(model) -> list:
    """The weights of the model's Embedding / EmbeddingBag layers built with sparse=True."""
    from torchlite import nn

    out = []
    for m in model.modules():
        if isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and m.sparse \
                and m.weight.requires_grad and all(m.weight is not p for p in out):
            out.append(m.weight)
    return out


class SplitOptimizer(Optimizer):
    """Several optimizers over disjoint parameters, stepped as one (SparseAdam for the sparse
    embedding tables, a dense optimizer for the rest). `param_groups` lists their groups (the
    same dicts), so a scheduler sets every group's lr; `state_dict` nests theirs."""

    def __init__(self, optimizers: dict[str, Optimizer]) -> None:
        self.optimizers = dict(optimizers)
        first = next(iter(self.optimizers.values()))
        self.defaults = dict(first.defaults)
        self._step_pre_hooks: OrderedDict = OrderedDict()
        self._step_post_hooks: OrderedDict = OrderedDict()
        self.param_groups = [g for o in self.optimizers.values() for g in o.param_groups]

    @property
    def state(self) -> dict:  # type: ignore[override]
        merged: dict = {}
        for o in self.optimizers.values():
            merged.update(o.state)
        return merged

    @state.setter
    def state(self, value: Any) -> None:  # Optimizer.__init__ is not called; nothing to set
        pass

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for o in self.optimizers.values():
            o.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self.optimizers.values():
            o.zero_grad(set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {name: o.state_dict() for name, o in self.optimizers.items()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if sorted(state_dict) != sorted(self.optimizers):
            raise ValueError(f"loaded state dict holds optimizers {sorted(state_dict)}, expected "
                             f"{sorted(self.optimizers)}")
        for name, o in self.optimizers.items():
            o.load_state_dict(state_dict[name])
        self.param_groups = [g for o in self.optimizers.values() for g in o.param_groups]

    def __getstate__(self) -> dict[str, Any]:  # copies (the pre-flight trial step) keep all
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return "SplitOptimizer(" + ", ".join(f"{k}={type(o).__name__}" for k, o in
                                             self.optimizers.items()) + ")"


def build_split_optimizer(cfg, model, construct: Callable, problem: Callable):
    """The optimizer of a config whose model has sparse embeddings or that names SparseAdam."""
    name = cfg.optimizer.type
    kwargs = dict(cfg.optimizer.kwargs)
    dense_spec = kwargs.pop("dense", None)
    sparse = sparse_parameters(model)
    ids = {id(p) for p in sparse}
    dense = [p for p in model.parameters() if id(p) not in ids and p.requires_grad]
    if name not in SPARSE_CAPABLE:
        raise problem(("optimizer", "type"), (
            f"{name} does not support sparse gradients, and the model has an Embedding or "
            "EmbeddingBag with sparse: true; use SparseAdam with a dense optimizer for the "
            "other parameters (optimizer: {type: SparseAdam, lr: ..., dense: {type: Adam, "
            "lr: ...}}), SGD or Adagrad, or set sparse: false"))
    if name != "SparseAdam":
        if dense_spec is not None:
            raise problem(("optimizer", "dense"), f"{name} updates every parameter itself: "
                          "'dense' goes with type: SparseAdam only")
        return construct("optimizer", name, kwargs, ("optimizer",), cfg, model.parameters())
    if not sparse:
        raise problem(("optimizer", "type"), (
            "SparseAdam is for the sparse gradients of an Embedding or EmbeddingBag with "
            "sparse: true, and the model has none; use Adam"))
    opts = {"sparse": construct("optimizer", name, kwargs, ("optimizer",), cfg, sparse)}
    if dense:
        if not isinstance(dense_spec, dict) or not isinstance(dense_spec.get("type"), str):
            raise problem(("optimizer", "dense"), (
                "SparseAdam updates only the sparse embedding tables; name an optimizer for the "
                f"model's {len(dense)} other parameter tensors, e.g. dense: {{type: Adam, "
                "lr: 0.001}"))
        dense_kwargs = {k: v for k, v in dense_spec.items() if k != "type"}
        dense_name = dense_spec["type"]
        from .registry import OPTIMIZERS

        if dense_name not in OPTIMIZERS or dense_name == "SparseAdam":
            raise problem(("optimizer", "dense", "type"), f"unknown or unsuitable dense "
                          f"optimizer {dense_name!r} (one of {', '.join(sorted(OPTIMIZERS))}, "
                          "not SparseAdam)")
        opts["dense"] = construct("optimizer", dense_name, dense_kwargs,
                                  ("optimizer", "dense"), cfg, dense)
    elif dense_spec is not None:
        raise problem(("optimizer", "dense"), "the model has no parameters besides its sparse "
                      "embedding tables: remove 'dense'")
    return SplitOptimizer(opts)
