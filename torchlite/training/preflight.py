"""Checks that `prepare` runs on the objects it built, before a run folder exists (train,
resume, validate): settings that pass the schema but would crash or train nonsense in the middle
of a run, each reported as a ConfigError on its key. They never change what they check: the
optimizer and scheduler are tried on copies, the model in eval mode without a graph. Also the
checks of a resume against the saved training state.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections import defaultdict

import numpy as np

import torchlite
from torchlite import nn
from torchlite.backend import OutOfMemoryError, to_host
from torchlite.nn.modules.normalization import _BatchNorm
from torchlite.utils.data import DataLoader

from . import registry
from .build import DataBundle, _problem
from .config import Config
from .loader import ConfigError

_DRY_STEPS = 1000  # scheduler steps simulated by check_scheduler (about 2 ms)
_DRY_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError, RuntimeError)


def check_optimizer(cfg: Config, optimizer) -> None:
    """Refuse an optimizer that would crash or break the weights in the middle of a run: one
    that needs a closure, or whose first step fails or gives non-finite values (a step size
    that divides by zero, say). The step is tried on a copy of the built optimizer whose
    groups hold a scratch parameter: the model, the optimizer and the RNG are not touched."""
    name = cfg.optimizer.type
    closure = inspect.signature(type(optimizer).step).parameters.get("closure")
    if closure is not None and closure.default is inspect.Parameter.empty:
        raise _problem(cfg, ("optimizer", "type"), (
            f"{name} needs a closure (a function that re-evaluates the loss several times per "
            "step) and cannot be used by the trainer; choose another optimizer (Adam, AdamW, "
            "SGD, ...) or call it from your own Python loop"))
    trial, _ = _scratch_copy(optimizer)
    scratch = [p for g in trial.param_groups for p in g["params"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            trial.step()
        except _DRY_ERRORS as exc:
            raise _problem(cfg, ("optimizer",), f"{name}: a test step failed: {exc}") from None
    if not all(np.all(np.isfinite(p.detach().numpy())) for p in scratch):
        raise _problem(cfg, ("optimizer",), f"{name}: a test step gave non-finite weights; "
                       "check lr, eps and the other arguments")


def check_scheduler(cfg: Config, scheduler, optimizer, steps_per_epoch: int) -> None:
    """Refuse a schedule that would crash or give an unusable learning rate in the middle of a
    run: a OneCycleLR shorter than the run, a step that fails, an lr that becomes negative or
    infinite. The run's first scheduler steps are taken on a copy of the built scheduler and
    optimizer; neither they nor the model are touched."""
    s = cfg.scheduler
    n = schedule_steps(cfg, steps_per_epoch)
    short = one_cycle_shortfall(scheduler, n)
    if short is not None:
        key = next((k for k in ("total_steps", "epochs") if k in s.kwargs), None)
        raise _problem(cfg, ("scheduler", key) if key else ("scheduler",), (
            f"OneCycleLR's {short[0]} total steps are fewer than the {short[1]} scheduler steps "
            f"of the run ({cfg.trainer.epochs} epochs x {steps_per_epoch} steps per epoch"
            f"{'' if s.interval == 'step' else ', stepped once per epoch'}); raise it, or leave "
            "total_steps and epochs out so that it follows trainer.epochs"))
    opt, sched = _scratch_copy(optimizer, scheduler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(1, min(n, _DRY_STEPS) + 1):
            try:
                sched.step(1.0) if s.type == "ReduceLROnPlateau" else sched.step()
            except _DRY_ERRORS as exc:
                raise _problem(cfg, ("scheduler",), f"{s.type}: step {i} of the schedule "
                               f"failed: {type(exc).__name__}: {exc}") from None
            lr = float(opt.param_groups[0]["lr"])
            if not (math.isfinite(lr) and lr >= 0):
                raise _problem(cfg, ("scheduler",), f"{s.type} sets the learning rate to {lr} "
                               f"at step {i}; it must stay finite and >= 0 (check gamma and "
                               "factors)")


def _scratch_copy(optimizer, scheduler=None):
    """Copies of `optimizer` (and of `scheduler`, on the copied optimizer) with the same
    groups and hyper-parameters, each group holding one scratch parameter (4 zeros, gradient
    0.5) instead of the model's: what a trial step may change without touching the run."""
    import copy

    params = [p for g in optimizer.param_groups for p in g["params"]]
    memo: dict = {id(p): p for p in params}  # the model's parameters are shared, not copied
    memo[id(optimizer.state)] = defaultdict(dict)  # and their buffers left out: none are used
    opt, sched = copy.deepcopy((optimizer, scheduler), memo)
    for group in opt.param_groups:
        param = nn.Parameter(torchlite.zeros(4))
        param.grad = torchlite.full((4,), 0.5)
        group["params"] = [param]
    return opt, sched


def schedule_steps(cfg: Config, steps_per_epoch: int) -> int:
    """How many times the trainer steps the scheduler over trainer.epochs."""
    per_epoch = steps_per_epoch if cfg.scheduler.interval == "step" else 1
    return cfg.trainer.epochs * per_epoch


def one_cycle_shortfall(scheduler, n_steps: int) -> tuple[int, int] | None:
    """(total_steps, steps it would take) of a OneCycleLR (itself or inside a SequentialLR or
    ChainedScheduler) that `n_steps` scheduler steps would run past (it raises then), else None.
    """
    for sched, steps in _spans(scheduler, n_steps):
        total = getattr(sched, "total_steps", None)
        if type(sched).__name__ == "OneCycleLR" and steps > total:
            return total, steps
    return None


def _spans(sched, n: int):
    """(scheduler, steps it takes) for `sched` stepped n times and each scheduler inside it."""
    yield sched, n
    children = getattr(sched, "_schedulers", None) or []
    if type(sched).__name__ == "SequentialLR":  # child i runs from milestone i-1 to i
        bounds = [0, *sched._milestones]
        for i, child in enumerate(children):
            end = n if i == len(children) - 1 else min(n, bounds[i + 1] - 1)
            yield from _spans(child, max(0, end - bounds[i]))
    else:
        for child in children:
            yield from _spans(child, n)


# What a resumed run may change: how long it trains and when it stops, where it runs, how it
# logs and loads data. Everything else shaped the weights and the optimizer and scheduler state
# that resume restores: a new learning rate would be overwritten by the saved optimizer state,
# and a new activation would train another model under the same weights.
RESUME_MAY_CHANGE = (("trainer", "epochs"), ("trainer", "early_stopping", "patience"),
                     ("trainer", "log_every_n_steps"), ("trainer", "checkpoint", "save_every"),
                     ("device",), ("data", "num_workers"), ("data", "eval_batch_size"),
                     ("output", "plots"), ("output", "tensorboard"))
_ABSENT = object()


def _differ(old, new) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old is not new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return old != new  # 30 and 30.0 are the same setting
    return type(old) is not type(new) or old != new


def _changed(old, new, path: tuple = ()):
    """The key paths (leaves) at which two plain configs differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            yield from _changed(old.get(key, _ABSENT), new.get(key, _ABSENT), (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _changed(a, b, (*path, i))
    elif old is _ABSENT or new is _ABSENT or _differ(old, new):
        yield path, old, new


def check_resume_changes(trained: Config, cfg: Config) -> None:
    """Refuse a resume whose config differs from the one the run was trained with (`trained`:
    the config stored with its last weights) other than in RESUME_MAY_CHANGE: an override, or
    a hand edit of config.yaml. A ConfigError names each difference where it came from, rather
    than the saved state silently winning or another model training under the same weights.
    Both configs are compared validated, defaults filled in."""
    allowed = ", ".join(".".join(p) for p in RESUME_MAY_CHANGE)
    problems = []
    for path, old, _ in _changed(trained.model_dump(mode="json"), cfg.model_dump(mode="json")):
        if any(path[:len(a)] == a for a in RESUME_MAY_CHANGE):
            continue
        was = "unset" if old is _ABSENT else repr(old)
        problems.append(cfg.source.problem(path, (
            f"cannot change on --resume (the run was trained with {was}): a resumed run "
            f"continues with its own settings and saved optimizer and scheduler state; only "
            f"{allowed} may change. Start a new run to train with other settings")))
    if problems:
        raise ConfigError(problems)


def check_resume(cfg: Config, state, scheduler, steps_per_epoch: int) -> None:
    """Refuse a resume that has nothing to do or that the saved schedule cannot follow, before
    anything in the run folder changes (`state` is the restored LoopState)."""
    done, epochs = state.epoch, cfg.trainer.epochs
    es = cfg.trainer.early_stopping
    if state.batch == 0 and es is not None and state.bad_epochs >= max(es.patience, 1):
        bad = f"{state.bad_epochs} epoch{'s' if state.bad_epochs > 1 else ''}"
        raise _problem(cfg, ("trainer", "early_stopping", "patience"), (
            f"the run stopped early after epoch {done} ({es.monitor} did not improve for {bad}); "
            f"there is nothing to resume: raise the patience (now {es.patience}) to train on, "
            "or start a new run"))
    if done > epochs or (done == epochs and state.batch > 0):
        raise _problem(cfg, ("trainer", "epochs"), (
            f"{epochs} is below the {done + (state.batch > 0)} epochs the run has reached; give "
            f"more than {done} epochs to train further"))
    if done == epochs:
        raise _problem(cfg, ("trainer", "epochs"), (
            f"the run has already completed its {done} epochs; there is nothing to resume: "
            f"give more epochs (e.g. --epochs {done + 10}) to train further"))
    short = None if scheduler is None else \
        one_cycle_shortfall(scheduler, schedule_steps(cfg, steps_per_epoch))
    if short is not None:
        per = steps_per_epoch if cfg.scheduler.interval == "step" else 1
        raise _problem(cfg, ("trainer", "epochs"), (
            f"OneCycleLR fixes its total steps when a run starts ({short[0]} steps, "
            f"{short[0] // per} epochs here), so this run cannot train past epoch "
            f"{short[0] // per}; to train {epochs} epochs with a one-cycle schedule, start a new "
            "run"))


def check_batches(cfg: Config, n_train: int, n_batches: int) -> None:
    """An epoch without a batch would train nothing and report a NaN loss."""
    if n_batches == 0:
        raise _problem(cfg, ("data", "batch_size"), (
            f"{cfg.data.batch_size} with drop_last leaves no batch of the {n_train} training "
            "samples; lower data.batch_size or set data.drop_last: false"))


def check_batch_norm(cfg: Config, n_train: int, layers: list[str]) -> None:
    """BatchNorm layers (named in `layers`) that see one value per channel in a sample cannot
    train on a batch of one sample: refuse the batch sizes that would make one."""
    if not layers:
        return
    b, which = cfg.data.batch_size, ", ".join(layers)
    if b == 1 or n_train == 1:
        raise _problem(cfg, ("data", "batch_size"), (
            f"{b} gives training batches of 1 sample ({n_train} training samples), which "
            f"{which} cannot normalise (it needs more than 1 value per channel); use a batch "
            "size of at least 2"))
    if not cfg.data.drop_last and n_train % b == 1:
        raise _problem(cfg, ("data", "batch_size"), (
            f"{b} leaves a last training batch of 1 sample ({n_train} = {n_train // b} x {b} + "
            f"1), which {which} cannot normalise in training (it needs more than 1 value per "
            "channel); set data.drop_last: true or choose another batch size"))


def check_task(cfg: Config, data: DataBundle) -> None:
    """The metrics and the loss against the task of the data as read: a file's task (unless
    data.task gives it) is only known once the file is loaded."""
    from .metrics import metric_task

    task = data.task
    problems = []
    for i, name in enumerate(cfg.metrics):
        if metric_task(name) != task:
            problems.append(cfg.source.problem(("metrics", i), (
                f"{name!r} is a {metric_task(name)} metric, but {_task_reason(cfg, data)}")))
    loss_task = registry.LOSS_TASKS.get(cfg.loss.type)
    if loss_task is not None and loss_task != task:
        problems.append(cfg.source.problem(("loss", "type"), (
            f"{cfg.loss.type} is a {loss_task} loss, but {_task_reason(cfg, data)}")))
    if problems:
        raise ConfigError(problems)


def _task_reason(cfg: Config, data: DataBundle) -> str:
    if cfg.data.task or cfg.data.info.task:
        return f"the task is {data.task} (dataset {cfg.data.dataset!r})"
    where = cfg.data.path
    if data.task == "classification":
        return (f"the targets in {where} are class labels (integers or text), so the task is "
                "classification; set data.task: regression if they are values to predict")
    y = np.asarray(data.train.targets)
    if np.all(y == np.round(y)):
        return (f"the targets in {where} are whole numbers stored as floats, so the task is "
                "regression; set data.task: classification if they are class labels")
    return (f"the targets in {where} are non-integer values, so the task is regression; use a "
            "regression loss (MSELoss, L1Loss, HuberLoss) and metrics (mse, rmse, mae, r2)")


def check_one_batch(run) -> tuple:
    """Run one small batch of `run` (a Prepared) through its model and loss (eval mode, no
    graph, no RNG drawn).

    Returns the output shape and the loss. A model that does not fit the data (a Linear of the
    wrong width, say) becomes a ConfigError on `model`, not a crash in the middle of training.
    """
    cfg, model, data = run.cfg, run.model, run.data
    x, y = next(iter(DataLoader(data.train, batch_size=min(cfg.data.batch_size, 8))))
    was_training = model.training
    model.eval()
    single: list[str] = []  # BatchNorm layers that see one value per channel of a sample

    def note(name):
        def hook(mod, inputs, output):
            if int(np.prod(inputs[0].shape[2:])) <= 1:  # (N, C): a batch of 1 has 1 value
                single.append(f"{type(mod).__name__} (layer {name})")
        return hook

    hooks = [mod.register_forward_hook(note(name)) for name, mod in model.named_modules()
             if isinstance(mod, _BatchNorm)]
    try:
        with torchlite.no_grad():
            # a custom model's own failure: a ConfigError on model.target
            out = run.forward(x.to(run.device),
                              f" (input samples of shape {list(data.input_shape)})")
            _check_regression_width(cfg, out, y)
            try:
                loss = run.loss_fn(out, y.to(run.device))
            except OutOfMemoryError:
                raise
            except (RuntimeError, ValueError, TypeError, IndexError) as exc:
                raise ConfigError([cfg.source.problem(("loss",), (
                    f"{cfg.loss.type} does not accept the model's output of shape "
                    f"{list(out.shape)} with targets of shape {list(y.shape)}: {exc}"))]) from None
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        if isinstance(exc, (ConfigError, OutOfMemoryError)):
            raise
        raise ConfigError([cfg.source.problem(("model",), (
            f"the model does not accept the data (samples of shape {list(data.input_shape)}): "
            f"{exc}"))]) from None
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    check_batch_norm(cfg, len(data.train), list(dict.fromkeys(single)))
    _check_finite_batch(cfg, x, out, float(loss))
    return list(out.shape), float(loss)


def _check_regression_width(cfg: Config, out, y) -> None:
    """A regression loss compares outputs and targets elementwise; of other shapes they would
    broadcast into nonsense (PyTorch only warns), so the model's output width must be the
    targets'."""
    if registry.LOSS_TASKS.get(cfg.loss.type) != "regression" or tuple(out.shape) == \
            tuple(y.shape):
        return
    want = list(y.shape[1:])
    key = ("model", "out_features") if cfg.model.type == "mlp" else ("model",)
    raise ConfigError([cfg.source.problem(key, (
        f"the model's outputs have shape {list(out.shape[1:])} per sample but the targets "
        f"{want}: {cfg.loss.type} needs them equal; make the model's output width "
        f"{want[-1] if want else 1}"))])


def _check_finite_batch(cfg: Config, x, out, loss: float) -> None:
    """A NaN/Inf loss before any training step is not a diverged run: the data files are
    checked for NaN/Inf when loaded, so it comes from the model or the loss (a config error)."""
    if math.isfinite(loss):
        return
    from torchlite.datasets import DatasetError

    if not bool(np.isfinite(to_host(x._data)).all()):
        raise DatasetError("the first training batch holds NaN or Inf after preprocessing "
                           f"(data.normalize: {cfg.data.normalize}); check the data")
    if not bool(np.isfinite(to_host(out._data)).all()):
        raise ConfigError([cfg.source.problem(("model",), (
            "the untrained model's output on one batch of finite data holds NaN or Inf; check "
            "the layers and their arguments"))])
    raise ConfigError([cfg.source.problem(("loss",), (
        f"{cfg.loss.type} of one batch is {loss} although the model's output is finite; check "
        "that the loss fits the model's output (BCELoss, for one, needs probabilities in "
        "[0, 1]) and its arguments"))])
