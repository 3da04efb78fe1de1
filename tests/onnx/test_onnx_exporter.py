"""torchlite/onnx/__init__.py, exporter.py, capture.py: the export call itself (files, names,
dynamic axes, modes, errors) and `import torchlite.onnx` without the onnx package."""

import subprocess
import sys

import numpy as np
import pytest
from _onnx_roundtrip import EXTRA, export_bytes, session

import torchlite
from torchlite import nn


def test_import_needs_no_onnx_package():
    code = ("import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None\n"
            "import torchlite, torchlite.onnx\n"
            "assert not torchlite.onnx.is_in_onnx_export()\n"
            "import torchlite.nn\n"
            "try:\n"
            "    torchlite.onnx.export(torchlite.nn.Linear(2, 2), torchlite.zeros(1, 2), 'm')\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "pip install 'torchlite[onnx]'" in out


def test_import_torchlite_does_not_import_onnx():
    code = "import sys, torchlite, torchlite.onnx; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


pytest.importorskip("onnx", reason=EXTRA)
pytest.importorskip("onnxruntime", reason=EXTRA)
import onnx  # noqa: E402


def _net():
    torchlite.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_export_to_a_path_writes_a_checked_model(tmp_path):
    net = _net()
    f = tmp_path / "m.onnx"
    torchlite.onnx.export(net, torchlite.randn(2, 4), str(f), input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    model = onnx.load(str(f))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["y"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "n" and dims[1].dim_value == 4
    assert model.opset_import[0].version == 17
    # parameters are initializers under their state_dict names
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= {i.name for i in
                                                             model.graph.initializer}
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left


def test_export_to_a_file_object_and_list_dynamic_axes():
    net = _net()
    data = export_bytes(net, (torchlite.randn(1, 4),), dynamic_axes={"input": [0]})
    sess = session(data)
    x = torchlite.randn(6, 4)
    (got,) = sess.run(None, {"input": x.numpy()})
    with torchlite.no_grad():
        assert np.abs(got - net(x).numpy()).max() < 1e-5
    dim = onnx.load_from_string(data).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "input_dynamic_axes_1"


def test_without_dynamic_axes_the_batch_is_fixed():
    data = export_bytes(_net(), torchlite.randn(2, 4))
    dims = onnx.load_from_string(data).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 4]


def test_outputs_in_tuples_and_dicts_and_keyword_args():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 2)

        def forward(self, x, scale=1.0):
            y = self.a(x) * scale
            return {"y": y, "both": (y, x + 1)}

    net = Net()
    x = torchlite.randn(2, 3)
    data = export_bytes(net, (x, {"scale": 2.0}))
    got = session(data).run(None, {"input": x.numpy()})
    with torchlite.no_grad():
        y = net(x, scale=2.0)["y"].numpy()
    assert len(got) == 3
    assert np.abs(got[0] - y).max() < 1e-6 and np.abs(got[2] - (x.numpy() + 1)).max() < 1e-6


def test_constant_folding_keeps_parameter_derived_values_out_of_the_graph():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torchlite.randn(4, 4))

        def forward(self, x):
            return x @ (self.w.t() * 2).softmax(-1)

    net = Net()
    folded = onnx.load_from_string(export_bytes(net, torchlite.randn(1, 4)))
    kept = onnx.load_from_string(export_bytes(net, torchlite.randn(1, 4),
                                              do_constant_folding=False))
    assert [n.op_type for n in folded.graph.node] == ["MatMul", "Identity"]
    assert {"Transpose", "Softmax"} <= {n.op_type for n in kept.graph.node}


def test_unsupported_op_names_the_op_and_the_module_path():
    class Odd(torchlite.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Inner(nn.Module):
        def forward(self, x):
            return Odd.apply(x)

    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), Inner()))
    with pytest.raises(torchlite.onnx.UnsupportedOperatorError) as err:
        export_bytes(net, torchlite.randn(1, 2))
    assert "'Odd'" in str(err.value) and "module '1.1'" in str(err.value)
    assert isinstance(err.value, RuntimeError) and err.value.exit_code == 2


def test_ops_that_depend_on_the_batch_size_are_refused_with_dynamic_axes():
    class Net(nn.Module):
        def forward(self, x):
            return x * 2 if x.shape[0] < 3 else x + 1

    with pytest.raises(torchlite.onnx.OnnxExporterError, match="different ops"):
        export_bytes(Net(), torchlite.randn(2, 2), dynamic_axes={"input": [0]})


def test_model_mode_is_restored_and_eval_is_the_default():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).train()
    export_bytes(net, torchlite.randn(3, 2))
    assert net.training
    net.eval()
    export_bytes(net, torchlite.randn(3, 2), training=torchlite.onnx.TrainingMode.PRESERVE)
    assert not net.training


def test_is_in_onnx_export_during_the_trace():
    seen = []

    class Net(nn.Module):
        def forward(self, x):
            seen.append(torchlite.onnx.is_in_onnx_export())
            return x + 1

    export_bytes(Net(), torchlite.randn(1, 2))
    assert seen and all(seen) and not torchlite.onnx.is_in_onnx_export()


def test_bad_opset_and_bad_dynamic_axis():
    with pytest.raises(torchlite.onnx.OnnxExporterError, match="opset_version 9"):
        export_bytes(_net(), torchlite.randn(1, 4), opset_version=9)
    with pytest.raises(torchlite.onnx.OnnxExporterError, match="out of range"):
        export_bytes(_net(), torchlite.randn(1, 4), dynamic_axes={"input": [5]})


def test_a_failed_export_leaves_the_previous_file(tmp_path):
    f = tmp_path / "m.onnx"
    f.write_bytes(b"old")
    with pytest.raises(torchlite.onnx.OnnxExporterError):
        torchlite.onnx.export(_net(), torchlite.randn(1, 4), f, opset_version=3)
    assert f.read_bytes() == b"old"
