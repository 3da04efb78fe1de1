"""The Optimizer base: param groups, lazy state, zero_grad, hooks, validation, and the state_dict
round trip (through a safetensors file) for every optimizer."""

import copy

import numpy as np
import pytest
from _optim_checks import mlp, quadratic

import torchlite
from torchlite import optim
from torchlite.optim.optimizer import Optimizer, required

# one configuration per optimizer that fills every kind of state it has
ALL = [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.01, amsgrad=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True)),
    (optim.Adadelta, dict(lr=1.0)),
    (optim.Adamax, dict(lr=0.01)),
    (optim.NAdam, dict(lr=0.01)),
    (optim.RAdam, dict(lr=0.01)),
    (optim.SparseAdam, dict(lr=0.01)),
    (optim.ASGD, dict(lr=0.02, t0=5)),
    (optim.Rprop, dict(lr=0.01)),
    (optim.LBFGS, dict(lr=0.5, max_iter=3, history_size=4)),
]
IDS = [cls.__name__ for cls, _ in ALL]


def make_params(problem, dtype=torchlite.float32, device="cpu"):
    return [torchlite.tensor(p, dtype=dtype, device=device, requires_grad=True)
            for p in problem.params0]


def take_step(opt, params, problem):
    """One step: gradients from the problem (a closure for LBFGS, which needs one)."""

    def closure():
        ps = [p.detach().cpu().numpy().astype(np.float64) for p in params]
        for p, g in zip(params, problem.grad(ps, 0)):
            p.grad = torchlite.tensor(g, dtype=p.dtype, device=p.device)
        return torchlite.tensor(problem.loss(ps))

    if isinstance(opt, optim.LBFGS):
        opt.step(closure)
    else:
        closure()
        opt.step()


def as_arrays(obj):
    """The state as nested lists of NumPy arrays and plain values, for exact comparisons."""
    if isinstance(obj, torchlite.Tensor):
        return np.asarray(obj.detach().cpu().numpy())
    if isinstance(obj, dict):
        return {k: as_arrays(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_arrays(v) for v in obj]
    return obj


def assert_same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b or (a != a and b != b)


# ------------------------------------------------------------------------------------------------
# state_dict round trip


@pytest.mark.parametrize("cls, kw", ALL, ids=IDS)
def test_state_dict_round_trip_through_safetensors_is_bitwise(cls, kw, tmp_path):
    problem = mlp()
    params_a = make_params(problem)
    opt_a = cls(params_a, **kw)
    for _ in range(10):
        take_step(opt_a, params_a, problem)

    path = tmp_path / "optim.safetensors"
    torchlite.save(opt_a.state_dict(), path)
    params_b = [torchlite.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params_a]
    opt_b = cls(params_b, lr=123.0)  # hyper-parameters come from the file
    opt_b.load_state_dict(torchlite.load(path))
    assert opt_b.param_groups[0]["lr"] == kw["lr"]
    assert_same(as_arrays(opt_b.state_dict()), as_arrays(opt_a.state_dict()))

    for _ in range(10):
        take_step(opt_a, params_a, problem)
        take_step(opt_b, params_b, problem)
        for pa, pb in zip(params_a, params_b):
            assert np.array_equal(pa.detach().numpy(), pb.detach().numpy())
    assert_same(as_arrays(opt_b.state_dict()), as_arrays(opt_a.state_dict()))


def test_state_dict_layout_matches_pytorch():
    a = torchlite.zeros(2, requires_grad=True)
    b = torchlite.zeros(3, requires_grad=True)
    c = torchlite.zeros(1, requires_grad=True)
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    for p in (a, c):
        p.grad = torchlite.ones(p.shape)
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 2]  # b had no gradient: no state
    assert set(sd["state"][2]) == {"step", "exp_avg", "exp_avg_sq"}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["param_groups"][0]) == {
        "params", "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach",
        "capturable", "differentiable", "fused", "decoupled_weight_decay"}


def test_load_state_dict_copies_and_casts_onto_the_params():
    p64 = torchlite.ones(3, dtype=torchlite.float64, requires_grad=True)
    src = optim.Adam([p64], lr=0.1)
    p64.grad = torchlite.ones(3, dtype=torchlite.float64)
    src.step()
    p32 = torchlite.ones(3, requires_grad=True)
    dst = optim.Adam([p32], lr=0.1)
    sd = src.state_dict()
    dst.load_state_dict(sd)
    st = dst.state[p32]
    assert st["exp_avg"].dtype == torchlite.float32 and st["step"].dtype == torchlite.float32
    st["exp_avg"].numpy()[0] = 5.0  # loaded buffers never alias the source's
    assert src.state[p64]["exp_avg"][0].item() != 5.0


def test_load_state_dict_accepts_json_round_tripped_keys():
    p = torchlite.ones(2, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = torchlite.ones(2)
    opt.step()
    sd = opt.state_dict()
    sd = {"state": {str(k): v for k, v in sd["state"].items()},
          "param_groups": [dict(g, betas=list(g["betas"])) for g in sd["param_groups"]]}
    fresh = optim.Adam([p])
    fresh.load_state_dict(sd)
    assert fresh.state[p]["step"].item() == 1.0 and fresh.param_groups[0]["betas"] == (0.9, 0.999)


def test_load_state_dict_rejects_mismatched_groups():
    a, b = torchlite.zeros(2, requires_grad=True), torchlite.zeros(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="size"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


# ------------------------------------------------------------------------------------------------
# groups, state, steps


def test_param_groups_take_defaults_and_their_own_options():
    a, b = torchlite.ones(2, requires_grad=True), torchlite.ones(2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 1.0, "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 1.0 and opt.param_groups[1]["params"] == [b]
    a.grad, b.grad = torchlite.ones(2), torchlite.ones(2)
    opt.step()
    assert a.tolist() == pytest.approx([0.9, 0.9]) and b.tolist() == [0.0, 0.0]
    c = torchlite.ones(1, requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 0.25})
    c.grad = torchlite.ones(1)
    opt.param_groups[0]["lr"] = 0.0  # hyper-parameters are read at every step
    opt.step()
    assert c.tolist() == [0.75] and a.tolist() == pytest.approx([0.9, 0.9])


def test_named_parameters_record_param_names():
    a, b = torchlite.ones(2, requires_grad=True), torchlite.ones(2, requires_grad=True)
    opt = optim.SGD([("w", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["params"] == [a, b]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [torchlite.ones(1, requires_grad=True)]})


@pytest.mark.parametrize("cls, kw", ALL, ids=IDS)
def test_params_without_grad_are_skipped(cls, kw):
    problem = quadratic()
    used = make_params(problem)
    idle = torchlite.tensor([1.0, -2.0], requires_grad=True)
    opt = cls(used + [idle], **kw)
    take_step(opt, used, problem)
    take_step(opt, used, problem)
    assert idle.tolist() == [1.0, -2.0] and idle.grad is None
    assert not np.array_equal(used[0].detach().numpy(), problem.params0[0].astype(np.float32))
    if cls is not optim.Adagrad:  # Adagrad creates its state with the optimizer, as PyTorch
        assert len(opt.state[idle]) == 0


@pytest.mark.parametrize("cls, kw", ALL, ids=IDS)
def test_step_updates_in_place_without_graph(cls, kw):
    problem = quadratic()
    params = make_params(problem)
    arrays = [p._data for p in params]
    versions = [p._version for p in params]
    opt = cls(params, **kw)
    with torchlite.enable_grad():
        take_step(opt, params, problem)
    for p, arr, v in zip(params, arrays, versions):
        assert p._data is arr and p._version > v
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
        assert p.dtype == torchlite.float32


@pytest.mark.parametrize("cls, kw", ALL, ids=IDS)
def test_numpy_float64_hyper_parameters_keep_float32(cls, kw):
    kw64 = {k: np.float64(v) if isinstance(v, float) else v for k, v in kw.items()}
    problem = mlp()
    params = make_params(problem)
    opt = cls(params, **kw64)
    for _ in range(3):
        take_step(opt, params, problem)
    assert all(p.dtype == torchlite.float32 for p in params)
    for st in opt.state.values():
        for v in st.values():
            if isinstance(v, torchlite.Tensor) and v.ndim > 0:
                assert v.dtype == torchlite.float32


def test_step_runs_under_no_grad_and_closure_under_enable_grad(monkeypatch):
    seen = {}
    p = torchlite.ones(2, requires_grad=True)
    update = optim.sgd._sgd_update_many

    def probe(*args, **kwargs):
        seen["update"] = torchlite.is_grad_enabled()
        return update(*args, **kwargs)

    monkeypatch.setattr(optim.sgd, "_sgd_update_many", probe)

    def closure():
        seen["closure"] = torchlite.is_grad_enabled()
        loss = (p * p).sum()
        loss.backward()
        return loss

    opt = optim.SGD([p], lr=0.1)
    with torchlite.no_grad():
        loss = opt.step(closure)
    assert seen == {"closure": True, "update": False} and loss.requires_grad
    assert p.tolist() == pytest.approx([0.8, 0.8])
    with torchlite.enable_grad():
        opt.step()
    assert seen["update"] is False and torchlite.is_grad_enabled()


def test_zero_grad():
    p = torchlite.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = torchlite.ones(2)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
    opt.zero_grad()  # nothing to do
    assert p.grad is None


def test_step_hooks_run_once_per_step_and_can_be_removed():
    calls = []
    p = torchlite.ones(1, requires_grad=True)
    p.grad = torchlite.ones(1)
    opt = optim.AdamW([p])
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o)))
    opt.step()  # AdamW.step is Adam.step: hooks run once
    assert calls == [("pre", opt), ("post", opt)]
    h1.remove()
    opt.step()
    assert calls[2:] == [("post", opt)]


def test_custom_optimizer_subclass_with_required_hyper_parameter():
    class Sign(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p._data -= group["lr"] * np.sign(p.grad._data)
                        p._bump()

    p = torchlite.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        Sign([p])
    opt = Sign([{"params": [p], "lr": 0.5}])
    p.grad = torchlite.tensor([3.0, -3.0])
    opt.step()
    assert p.tolist() == [0.5, 2.5] and opt._opt_called
    assert "Sign (" in repr(opt) and "lr: 0.5" in repr(opt)


def test_step_skeleton_batches_parameters_by_key_and_dtype():
    """Optimizer.step, the loop every built-in optimizer but LBFGS uses: one `_hyper` per
    group, one `_prepare` per parameter with a gradient, then one `_update` per (key, dtype),
    in the parameters' order, under no_grad."""
    calls = []

    class Halve(Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.5))

        def _hyper(self, group):
            calls.append(("hyper", group["lr"]))
            return dict(lr=group["lr"])

        def _prepare(self, p, grad, group):
            self.state[p]["steps"] = self.state[p].get("steps", 0) + 1
            return p.numel() % 2, (p._data, grad)

        def _update(self, entries, key, hyper):
            calls.append(("update", key, [e[0].size for e in entries],
                          torchlite.is_grad_enabled()))
            for p, g in entries:
                p -= hyper["lr"] * g

    sizes = [2, 3, 4, 1, 5]
    ps = [torchlite.ones(n, requires_grad=True) for n in sizes]
    ps[2] = torchlite.ones(4, dtype=torchlite.float64, requires_grad=True)
    for p in ps[:4]:
        p.grad = torchlite.ones_like(p)
    opt = Halve([{"params": ps[:3]}, {"params": ps[3:], "lr": 0.25}])
    with torchlite.enable_grad():
        opt.step()
    assert calls == [("hyper", 0.5), ("update", 0, [2], False), ("update", 1, [3], False),
                     ("update", 0, [4], False), ("hyper", 0.25), ("update", 1, [1], False)]
    assert [p.tolist()[0] for p in ps] == [0.5, 0.5, 0.5, 0.75, 1.0]
    assert [opt.state[p].get("steps") for p in ps] == [1, 1, 1, 1, None]


def test_a_subclass_without_step_or_prepare_cannot_step():
    class Nothing(Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

    with pytest.raises(NotImplementedError):
        Nothing([torchlite.ones(1, requires_grad=True)]).step()


def test_deepcopy_and_pickle_protocol_state():
    p = torchlite.ones(2, requires_grad=True)
    p.grad = torchlite.ones(2)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    clone = copy.deepcopy(opt)
    assert clone.param_groups[0]["lr"] == 0.1
    assert len(clone.state) == 1 and clone.register_step_post_hook(lambda *a: None)


# ------------------------------------------------------------------------------------------------
# validation


def test_bad_parameter_lists():
    a = torchlite.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([a, a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({a}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="dict"):
        optim.SGD([a], lr=0.1).add_param_group([a])


def test_group_options_are_validated_too():
    opt = optim.Adam([torchlite.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match=r"betas\[0\]"):
        opt.add_param_group({"params": [torchlite.zeros(1, requires_grad=True)],
                             "betas": (1.5, 0.9)})
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([{"params": [torchlite.zeros(1, requires_grad=True)], "lr": -1.0}], lr=0.1)


def test_differentiable_is_rejected():
    with pytest.raises(ValueError, match="differentiable"):
        optim.Adam([torchlite.zeros(2, requires_grad=True)], differentiable=True)


# ------------------------------------------------------------------------------------------------
# devices


@pytest.mark.parametrize("cls, kw", ALL, ids=IDS)
def test_optimizers_on_device_match_cpu(cls, kw, device):
    problem = mlp()
    runs = []
    for dev in ("cpu", device):
        params = make_params(problem, device=dev)
        opt = cls(params, **kw)
        for _ in range(5):
            take_step(opt, params, problem)
        for st in opt.state.values():
            for v in st.values():
                if isinstance(v, torchlite.Tensor) and v.ndim > 0:
                    assert v.device == params[0].device
        runs.append([p.detach().cpu().numpy() for p in params])
    for a, b in zip(*runs):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
