"""What the ONNX tests share: export a model, run it in ONNX Runtime, compare with torchlite.

Every test module here starts with `pytest.importorskip` of onnx and onnxruntime (the onnx
extra), so the suite skips them, with that reason, where the extra is not installed.
"""

import io

import numpy as np
import pytest

import torchlite

EXTRA = "needs the onnx extra: pip install 'torchlite[onnx]'"
TOL = 1e-5  # float32 outputs, as the export issue asks


def require_extra():
    pytest.importorskip("onnx", reason=EXTRA)
    pytest.importorskip("onnxruntime", reason=EXTRA)


def export_bytes(model, args, **kwargs) -> bytes:
    buf = io.BytesIO()
    torchlite.onnx.export(model, args, buf, **kwargs)
    return buf.getvalue()


def session(data: bytes):
    import onnxruntime as ort

    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _outputs(out):
    if isinstance(out, torchlite.Tensor):
        return [out]
    flat = []
    for o in out:
        flat.extend(_outputs(o)) if not isinstance(o, torchlite.Tensor) else flat.append(o)
    return flat


def max_diff(model, sess, args, names) -> float:
    with torchlite.no_grad():
        want = _outputs(model(*args))
    got = sess.run(None, {n: a.numpy() for n, a in zip(names, args)})
    assert len(got) == len(want)
    worst = 0.0
    for w, g in zip(want, got):
        assert tuple(g.shape) == tuple(w.shape)
        if w.numel():
            worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - w.numpy()))))
    return worst


def grow(t, n: int, axis: int = 0):
    """`t` repeated to n along `axis` (real values, another size)."""
    reps = -(-n // t.shape[axis])
    arr = np.concatenate([t.numpy()] * reps, axis=axis)
    return torchlite.from_numpy(np.ascontiguousarray(np.take(arr, range(n), axis=axis)))


def roundtrip(model, args, *, dynamic: bool = True, other: int = 3, axis: int = 0,
              tol: float = TOL, **kwargs) -> dict:
    """Export `model(*args)` (batch axis `axis` dynamic unless `dynamic` is False), check the
    file with onnx.checker, and compare ONNX Runtime with torchlite at the given batch and, with
    `dynamic`, at batch `other`. Returns the largest differences by batch size."""
    import onnx

    if hasattr(model, "eval"):
        model.eval()
    args = args if isinstance(args, tuple) else (args,)
    names = [f"in{i}" for i in range(len(args))]
    dyn = {n: {axis: "batch"} for n in names} if dynamic else None
    data = export_bytes(model, args, input_names=names, dynamic_axes=dyn, **kwargs)
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    sess = session(data)
    diffs = {args[0].shape[axis]: max_diff(model, sess, args, names)}
    if dynamic:
        bigger = tuple(grow(a, other, axis) for a in args)
        diffs[other] = max_diff(model, sess, bigger, names)
    assert max(diffs.values()) <= tol, diffs
    return diffs
