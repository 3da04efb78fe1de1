"""Creation functions: dtype inference, copies vs shared memory, ranges, random and seeds."""

import numpy as np
import pytest
from _core_checks import to_np

import torchlite


@pytest.mark.parametrize(
    "data, dtype",
    [
        ([1, 2], torchlite.int64), ([1.0], torchlite.float32), ([1, 2.0], torchlite.float32),
        ([True, False], torchlite.bool), ([True, 2], torchlite.int64), (3, torchlite.int64),
        (2.5, torchlite.float32), (True, torchlite.bool), ([[1, 2], [3, 4]], torchlite.int64),
        ((1.0, 2), torchlite.float32), ([], torchlite.float32),
        (np.array([1, 2]), torchlite.int64), (np.array([1.0]), torchlite.float64),
        (np.array([1], dtype=np.int32), torchlite.int32), (np.float64(2.0), torchlite.float64),
        ([np.float64(1.0), 2.0], torchlite.float64), ([np.float32(1.0), 2], torchlite.float32),
        ([np.int32(1)], torchlite.int32), ([torchlite.tensor(1.0), 2.0], torchlite.float32),
        (np.array([1, 2], dtype=np.uint8), torchlite.uint8),
    ],
)
def test_tensor_dtype_inference(data, dtype):
    t = torchlite.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(to_np(t), np.asarray(data, dtype=dtype.np)
                                  if not isinstance(data, list) or data else np.zeros(0))


def test_tensor_copies_and_options(device):
    a = np.array([1.0, 2.0], dtype=np.float32)
    t = torchlite.tensor(a, device=device)
    a[0] = 100.0
    assert t[0].item() == 1.0
    t2 = torchlite.tensor(t, dtype=torchlite.float64)
    assert t2.dtype == torchlite.float64 and t2.device == t.device
    r = torchlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    assert r.requires_grad and r.is_leaf and str(r.device) == device
    assert torchlite.tensor([[1, 2]], dtype=torchlite.float16).dtype == torchlite.float16
    assert torchlite.tensor([1, 2], dtype=float).dtype == torchlite.float64  # as PyTorch
    assert torchlite.tensor([1, 2], dtype="float64").dtype == torchlite.float64
    assert torchlite.tensor([1, 2], dtype=np.int16).dtype == torchlite.int16
    assert torchlite.tensor([], dtype=torchlite.int64).shape == (0,)


def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = torchlite.from_numpy(a)
    a[0, 0] = 10.0
    assert t[0, 0].item() == 10.0
    t[1, 2] = -1.0
    assert a[1, 2] == -1.0
    t.add_(1)
    assert a[0, 0] == 11.0
    assert t.numpy() is a
    assert t.dtype == torchlite.float32 and t.device == torchlite.device("cpu")
    assert torchlite.from_numpy(np.ones(2)).dtype == torchlite.float64


def test_as_tensor_shares_when_it_can():
    a = np.ones(3, dtype=np.float32)
    t = torchlite.as_tensor(a)
    a[1] = 5.0
    assert t[1].item() == 5.0
    c = torchlite.as_tensor(a, dtype=torchlite.float64)
    a[2] = 7.0
    assert c[2].item() == 1.0 and c.dtype == torchlite.float64
    x = torchlite.ones(2)
    assert torchlite.as_tensor(x) is x
    assert torchlite.asarray([1, 2]).dtype == torchlite.int64


def test_bad_data():
    with pytest.raises(TypeError, match="tensor"):
        torchlite.tensor(["a", "b"])
    with pytest.raises(TypeError, match="tensor"):
        torchlite.tensor([object()])
    with pytest.raises(ValueError):
        torchlite.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="from_numpy"):
        torchlite.from_numpy([1, 2])
    with pytest.raises(TypeError, match="complex128"):
        torchlite.from_numpy(np.ones(2, dtype=np.complex128))
    with pytest.raises(TypeError, match="dtype"):
        torchlite.tensor([1], dtype="float8")


# --------------------------------------------------------------------------------------------
# factories


@pytest.mark.parametrize("name, value", [("zeros", 0.0), ("ones", 1.0)])
def test_zeros_ones(name, value, device):
    fn = getattr(torchlite, name)
    for t in (fn(2, 3, device=device), fn((2, 3), device=device), fn([2, 3], device=device),
              fn(torchlite.Size([2, 3]), device=device)):
        assert t.shape == (2, 3) and t.dtype == torchlite.float32 and str(t.device) == device
        np.testing.assert_array_equal(to_np(t), np.full((2, 3), value))
    assert fn(2, dtype=torchlite.int32).dtype == torchlite.int32
    assert fn(()).shape == () and fn(0).shape == (0,)
    assert fn(2, requires_grad=True).requires_grad
    like = getattr(torchlite, name + "_like")(torchlite.tensor([[1, 2]]))
    assert like.shape == (1, 2) and like.dtype == torchlite.int64
    like = getattr(torchlite, name + "_like")(torchlite.ones(3), dtype=torchlite.float64)
    assert like.dtype == torchlite.float64


def test_full_empty():
    assert torchlite.full((2,), 3).dtype == torchlite.int64
    assert torchlite.full((2,), 1.5).dtype == torchlite.float32
    assert torchlite.full((2,), True).dtype == torchlite.bool
    np.testing.assert_array_equal(to_np(torchlite.full((2, 2), 7.0)), np.full((2, 2), 7.0))
    assert torchlite.full(3, 0.5, dtype=torchlite.float64).dtype == torchlite.float64
    assert torchlite.full_like(torchlite.ones(2, dtype=torchlite.int32), 4).dtype == \
        torchlite.int32
    assert torchlite.empty(2, 3).shape == (2, 3) and torchlite.empty_like(torchlite.ones(4)).shape \
        == (4,)


def test_negative_sizes_name_the_op():
    for name in ("zeros", "ones", "empty", "rand", "randn"):
        with pytest.raises(RuntimeError, match=rf"{name}.*negative.*-1"):
            getattr(torchlite, name)(2, -1)
    with pytest.raises(RuntimeError, match="full.*negative"):
        torchlite.full((-1,), 1.0)
    with pytest.raises(RuntimeError, match="eye"):
        torchlite.eye(-1)
    with pytest.raises(TypeError, match="zeros"):
        torchlite.zeros(2.5)


@pytest.mark.parametrize(
    "args, kwargs, expected, dtype",
    [
        ((5,), {}, np.arange(5), torchlite.int64),
        ((1, 4), {}, np.arange(1, 4), torchlite.int64),
        ((5, 0, -2), {}, np.array([5, 3, 1]), torchlite.int64),
        ((0, 1, 0.25), {}, np.arange(0, 1, 0.25), torchlite.float32),
        ((1.0, 2.5, 0.5), {}, np.array([1.0, 1.5, 2.0]), torchlite.float32),
        ((4,), {"dtype": torchlite.float64}, np.arange(4.0), torchlite.float64),
        ((0, 1, 0.1), {}, np.arange(10) * 0.1, torchlite.float32),
        ((3, 3), {}, np.zeros(0), torchlite.int64),
    ],
)
def test_arange(args, kwargs, expected, dtype):
    t = torchlite.arange(*args, **kwargs)
    assert t.dtype == dtype and t.shape == expected.shape
    np.testing.assert_allclose(to_np(t), expected, rtol=1e-6)


def test_arange_errors():
    with pytest.raises(RuntimeError, match="arange.*step"):
        torchlite.arange(0, 5, 0)
    with pytest.raises(RuntimeError, match="arange"):
        torchlite.arange(5, 0, 1)


def test_linspace_logspace_eye(device):
    np.testing.assert_allclose(to_np(torchlite.linspace(0, 1, 5, device=device)),
                               np.linspace(0, 1, 5), rtol=1e-6)
    assert torchlite.linspace(0, 1, 5).dtype == torchlite.float32
    assert torchlite.linspace(0, 1, 0).shape == (0,)
    np.testing.assert_allclose(to_np(torchlite.logspace(0, 2, 3)), [1.0, 10.0, 100.0],
                               rtol=1e-6)
    np.testing.assert_array_equal(to_np(torchlite.eye(2, 3, device=device)), np.eye(2, 3))
    assert torchlite.eye(3).dtype == torchlite.float32
    assert torchlite.eye(2, dtype=torchlite.int64).dtype == torchlite.int64
    with pytest.raises(RuntimeError, match="linspace"):
        torchlite.linspace(0, 1, -1)


# --------------------------------------------------------------------------------------------
# random


def test_manual_seed_reproducible():
    torchlite.manual_seed(123)
    a = [torchlite.rand(3), torchlite.randn(2, 2), torchlite.randint(0, 10, (4,)),
         torchlite.randperm(5), torchlite.ones(3).uniform_(), torchlite.ones(3).normal_()]
    torchlite.manual_seed(123)
    b = [torchlite.rand(3), torchlite.randn(2, 2), torchlite.randint(0, 10, (4,)),
         torchlite.randperm(5), torchlite.ones(3).uniform_(), torchlite.ones(3).normal_()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(to_np(x), to_np(y))
    assert torchlite.initial_seed() == 123
    torchlite.manual_seed(124)
    assert not np.array_equal(to_np(torchlite.rand(3)), to_np(a[0]))


def test_generator_objects_are_independent():
    g1 = torchlite.Generator().manual_seed(7)
    g2 = torchlite.Generator()
    g2.manual_seed(7)
    torchlite.manual_seed(0)
    x = torchlite.rand(4, generator=g1)
    torchlite.rand(10)  # the default generator does not disturb g2
    y = torchlite.rand(4, generator=g2)
    np.testing.assert_array_equal(to_np(x), to_np(y))
    assert g1.initial_seed() == 7
    state = g1.get_state()
    u = torchlite.randperm(10, generator=g1)
    g1.set_state(state)
    np.testing.assert_array_equal(to_np(torchlite.randperm(10, generator=g1)), to_np(u))
    import json

    json.dumps(state)  # the state is plain JSON-able data (it goes in checkpoint metadata)


def test_rng_state_roundtrip():
    torchlite.manual_seed(5)
    s = torchlite.get_rng_state()
    a = torchlite.randn(3)
    torchlite.set_rng_state(s)
    np.testing.assert_array_equal(to_np(torchlite.randn(3)), to_np(a))
    torchlite.set_rng_state(new_state=s)  # PyTorch's name for the argument
    np.testing.assert_array_equal(to_np(torchlite.randn(3)), to_np(a))


def test_random_distributions_and_dtypes(device):
    torchlite.manual_seed(0)
    r = torchlite.rand(1000, device=device)
    assert r.dtype == torchlite.float32 and 0.0 <= r.min().item() and r.max().item() < 1.0
    n = torchlite.randn(4000, dtype=torchlite.float64)
    assert n.dtype == torchlite.float64 and abs(n.mean().item()) < 0.1
    assert abs(n.std().item() - 1.0) < 0.1
    i = torchlite.randint(3, 7, (100,))
    assert i.dtype == torchlite.int64 and i.min().item() >= 3 and i.max().item() < 7
    assert torchlite.randint(5, (2, 2)).shape == (2, 2)
    p = torchlite.randperm(6)
    assert p.dtype == torchlite.int64 and sorted(p.tolist()) == list(range(6))
    like = torchlite.rand_like(torchlite.ones(2, 3, dtype=torchlite.float64))
    assert like.shape == (2, 3) and like.dtype == torchlite.float64
    assert torchlite.randn_like(torchlite.ones(2)).shape == (2,)
    assert torchlite.randint_like(torchlite.ones(2), 0, 4).dtype == torchlite.float32
    assert torchlite.rand(2, requires_grad=True).requires_grad
    b = torchlite.bernoulli(torchlite.full((1000,), 0.3))
    assert set(np.unique(to_np(b))) <= {0.0, 1.0} and 0.2 < b.mean().item() < 0.4
    m = torchlite.multinomial(torchlite.tensor([0.0, 1.0, 0.0]), 3, replacement=True)
    assert m.tolist() == [1, 1, 1]
    nrm = torchlite.normal(2.0, 0.5, (1000,))
    assert abs(nrm.mean().item() - 2.0) < 0.1
    nt = torchlite.normal(torchlite.zeros(3), 1.0)
    assert nt.shape == (3,)
    with pytest.raises(RuntimeError, match="randint"):
        torchlite.randint(5, 5, (2,))


def test_tensor_multinomial_method():
    probs = torchlite.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    assert probs.multinomial(2, replacement=True).tolist() == [[1, 1], [2, 2]]
    w = torchlite.tensor([1.0, 2.0, 3.0, 4.0])
    draw = w.multinomial(4, generator=torchlite.Generator().manual_seed(3))
    assert sorted(draw.tolist()) == [0, 1, 2, 3] and draw.dtype == torchlite.int64
    again = torchlite.multinomial(w, 4, generator=torchlite.Generator().manual_seed(3))
    assert again.tolist() == draw.tolist()


def test_cuda_device_without_gpu_names_the_extra(cupy_missing):
    if torchlite.cuda.is_available():
        pytest.skip("a GPU is present")
    for make in (lambda: torchlite.zeros(2, device="cuda"),
                 lambda: torchlite.tensor([1.0], device="cuda:0"),
                 lambda: torchlite.ones(2).cuda(), lambda: torchlite.ones(2).to("cuda")):
        with pytest.raises(RuntimeError) as exc:
            make()
        assert "cuda12" in str(exc.value) and "cuda13" in str(exc.value)


def test_nested_empty_list():
    t = torchlite.tensor([[]])
    assert tuple(t.shape) == (1, 0) and t.dtype == torchlite.float32
