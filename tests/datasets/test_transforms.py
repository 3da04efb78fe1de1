import json

import numpy as np
import pytest

from torchlite.datasets import (
    Compose,
    DatasetError,
    Normalize,
    OneHot,
    Reshape,
    Standardize,
    transform_from_state,
)

rng = np.random.default_rng(0)
IMAGES = rng.uniform(0, 16, size=(20, 3, 4, 4))


def roundtrip(t):
    """Through JSON, as a checkpoint's metadata does it."""
    return transform_from_state(json.loads(json.dumps(t.state_dict())))


def test_normalize_global():
    t = Normalize().fit(IMAGES)
    assert t.mean.shape == () and float(t.mean) == pytest.approx(IMAGES.mean())
    assert float(t.std) == pytest.approx(IMAGES.std())
    out = t(IMAGES)
    assert out.dtype == np.float32 and out.shape == IMAGES.shape
    assert abs(out.mean()) < 1e-5 and out.std() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(out, (IMAGES - IMAGES.mean()) / IMAGES.std(), rtol=1e-5, atol=1e-5)


def test_normalize_per_channel_uses_train_stats_only():
    train, test = IMAGES[:15], IMAGES[15:] + 100.0
    t = Normalize(per_channel=True).fit(train)
    ref_mean = train.mean(axis=(0, 2, 3))
    ref_std = train.std(axis=(0, 2, 3))
    np.testing.assert_allclose(t.mean, ref_mean)
    np.testing.assert_allclose(t.std, ref_std)
    out = t(test)
    expected = (test - ref_mean[None, :, None, None]) / ref_std[None, :, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="3 channels"):
        t(np.zeros((2, 4, 4, 4)))
    last = Normalize(per_channel=True, channel_axis=-1).fit(train)
    np.testing.assert_allclose(last.mean, train.mean(axis=(0, 1, 2)))


def test_normalize_explicit_and_errors():
    t = Normalize(mean=[1.0, 2.0], std=[2.0, 4.0])
    assert t.fitted and t.per_channel
    np.testing.assert_allclose(t(np.array([[3.0, 6.0]])), [[1.0, 1.0]])
    np.testing.assert_allclose(Normalize(8.0, 2.0)(np.array([[10.0]])), [[1.0]])
    with pytest.raises(RuntimeError, match="fit"):
        Normalize()(IMAGES)
    with pytest.raises(RuntimeError, match="fit"):
        Normalize().state_dict()
    with pytest.raises(ValueError, match="both"):
        Normalize(mean=1.0)
    with pytest.raises(ValueError, match="positive"):
        Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match="equal-length"):
        Normalize([0.0, 1.0], [1.0])
    constant = Normalize().fit(np.full((4, 2), 3.0))
    assert float(constant.std) == 1.0
    np.testing.assert_array_equal(constant(np.full((1, 2), 3.0)), [[0.0, 0.0]])


def test_standardize_per_feature():
    x = rng.normal(5.0, 3.0, size=(50, 4))
    x[:, 2] = 7.0  # constant feature
    t = Standardize().fit(x)
    np.testing.assert_allclose(t.mean, x.mean(axis=0))
    ref_std = x.std(axis=0)
    ref_std[2] = 1.0
    np.testing.assert_allclose(t.std, ref_std)
    out = t(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), [1, 1, 0, 1], atol=1e-5)
    with pytest.raises(ValueError, match="fitted for samples of shape"):
        t(np.zeros((2, 5)))
    with pytest.raises(RuntimeError, match="fit"):
        Standardize()(x)
    images = Standardize().fit(IMAGES)
    assert images.mean.shape == (3, 4, 4)
    np.testing.assert_allclose(roundtrip(images)(IMAGES), images(IMAGES))


def test_one_hot():
    t = OneHot(4)
    np.testing.assert_array_equal(t(np.array([2, 0])), [[0, 0, 1, 0], [1, 0, 0, 0]])
    assert t(np.array([1])).dtype == np.float32
    fitted = OneHot().fit(np.array([0, 5, 2]))
    assert fitted.num_classes == 6
    with pytest.raises(ValueError, match="0..3"):
        t(np.array([4]))
    with pytest.raises(ValueError, match="integer labels"):
        t(np.array([0.5]))
    with pytest.raises(ValueError, match="positive"):
        OneHot(0)
    assert roundtrip(t).num_classes == 4


def test_reshape():
    t = Reshape([1, 8, 8])
    assert t(np.zeros((5, 64))).shape == (5, 1, 8, 8)
    assert Reshape((-1,))(np.zeros((5, 1, 8, 8))).shape == (5, 64)
    with pytest.raises(ValueError, match="cannot reshape"):
        t(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="invalid shape"):
        Reshape((-1, -1))
    assert roundtrip(t).shape == (1, 8, 8)


def test_compose_fits_in_sequence_and_roundtrips():
    flat = IMAGES.reshape(20, -1)
    t = Compose([Reshape((3, 4, 4)), Normalize(per_channel=True)]).fit(flat)
    np.testing.assert_allclose(t.transforms[1].mean, IMAGES.mean(axis=(0, 2, 3)))
    out = t(flat)
    assert out.shape == (20, 3, 4, 4)
    state = json.loads(json.dumps(t.state_dict()))
    assert state["type"] == "Compose" and [s["type"] for s in state["transforms"]] == [
        "Reshape",
        "Normalize",
    ]
    rebuilt = transform_from_state(state)
    np.testing.assert_array_equal(rebuilt(flat), out)
    fresh = Compose([Reshape((1,)), Normalize(per_channel=True)])
    assert not fresh.fitted
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh(flat), out)
    with pytest.raises(DatasetError, match="2 transform states"):
        Compose([Reshape((1,)), Normalize()]).load_state_dict({"type": "Compose", "transforms": []})


def test_normalize_state_values_are_plain():
    state = Normalize(per_channel=True).fit(IMAGES).state_dict()
    assert isinstance(state["mean"], list) and all(isinstance(v, float) for v in state["mean"])
    glob = Normalize().fit(IMAGES).state_dict()
    assert isinstance(glob["mean"], float) and isinstance(glob["std"], float)
    again = roundtrip(Normalize().fit(IMAGES))
    np.testing.assert_array_equal(again(IMAGES), Normalize().fit(IMAGES)(IMAGES))


@pytest.mark.parametrize(
    "state, match",
    [
        ({"type": "Nope"}, "unknown transform"),
        ({"mean": 1.0}, "type"),
        ({"type": "Normalize", "mean": 1.0}, "missing key"),
        (
            {
                "type": "Normalize",
                "mean": [1.0],
                "std": [0.0],
                "per_channel": True,
                "channel_axis": 1,
                "eps": 1e-7,
            },
            "inconsistent",
        ),
        (
            {
                "type": "Normalize",
                "mean": "x",
                "std": 1.0,
                "per_channel": False,
                "channel_axis": 1,
                "eps": 1e-7,
            },
            "numbers",
        ),
        ({"type": "Standardize", "mean": [1.0], "std": [1.0], "shape": [2], "eps": 0.0}, "size"),
        (
            {"type": "Standardize", "mean": [1.0], "std": [float("nan")], "shape": [1], "eps": 0.0},
            "finite",
        ),
        ({"type": "OneHot", "num_classes": 0}, "num_classes"),
        ({"type": "Reshape", "shape": [-2]}, "bad shape"),
        ({"type": "Compose", "transforms": None}, "list"),
    ],
)
def test_bad_states(state, match):
    with pytest.raises(DatasetError, match=match):
        transform_from_state(state)


def test_load_state_type_mismatch():
    with pytest.raises(DatasetError, match="expected a state of type 'OneHot'"):
        OneHot(2).load_state_dict(Reshape((1,)).state_dict())
