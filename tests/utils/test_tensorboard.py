"""SummaryWriter: every method's events read back with the tensorboard package's own reader
(EventAccumulator), and the refusal without the [tensorboard] extra."""

import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import torchlite
from torchlite import nn
from torchlite.utils.tensorboard import SummaryWriter


@pytest.fixture
def tbx():
    return pytest.importorskip("tensorboardX", reason="needs pip install 'torchlite[tensorboard]'")


def read(log_dir):
    """Every event under `log_dir` (one run folder), loaded by TensorBoard's reader."""
    ea = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="needs the tensorboard package: pip install 'torchlite[tensorboard]'")
    acc = ea.EventAccumulator(str(log_dir), size_guidance={
        ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0, ea.TENSORS: 0})
    return acc.Reload()


def _png(image_event):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(image_event.encoded_image_string)))


def test_without_the_extra_creating_a_writer_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'torchlite\[tensorboard\]'"):
        SummaryWriter(tmp_path)
    assert not any(tmp_path.iterdir())


def test_importing_torchlite_does_not_import_tensorboardx():
    import subprocess

    code = ("import sys, torchlite, torchlite.utils.tensorboard, torchlite.training.trainer\n"
            "print('tensorboardX' in sys.modules, 'tensorboard' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_scalars_from_tensors_arrays_and_numbers(tbx, tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("loss", torchlite.tensor(0.5), 0)
        w.add_scalar("loss", np.array([0.25], dtype=np.float32), 1)
        w.add_scalar("loss", 0.125, global_step=2, walltime=1234.5)
        w.add_scalar("acc", torchlite.tensor(0.75, requires_grad=True) * 1, 3, new_style=True)
    acc = read(tmp_path)
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(0, 0.5), (1, 0.25), (2, 0.125)]
    assert acc.Scalars("loss")[2].wall_time == 1234.5
    assert [(e.step, e.value) for e in acc.Scalars("acc")] == [(3, 0.75)]


def test_a_scalar_must_hold_one_value(tbx, tmp_path):
    with SummaryWriter(tmp_path) as w, pytest.raises(ValueError, match=r"shape \(2,\)"):
        w.add_scalar("x", torchlite.tensor([1.0, 2.0]))


def test_scalars_groups_go_to_sub_runs_named_as_pytorch_does(tbx, tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("loss/all", {"train": torchlite.tensor(1.0 + step),
                                       "val": np.float64(2.0 * step)}, step)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == \
        ["loss_all_train", "loss_all_val"]
    train, val = read(tmp_path / "loss_all_train"), read(tmp_path / "loss_all_val")
    assert train.Tags()["scalars"] == ["loss/all"]  # one chart, two runs
    assert [e.value for e in train.Scalars("loss/all")] == [1.0, 2.0, 3.0]
    assert [(e.step, e.value) for e in val.Scalars("loss/all")] == [(0, 0.0), (1, 2.0), (2, 4.0)]


def test_histogram_of_a_tensor(tbx, tmp_path):
    values = torchlite.arange(12, dtype=torchlite.float32).reshape(3, 4)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", values, 7)
        w.add_histogram("auto", values.numpy(), 8, bins="auto")
    h = read(tmp_path).Histograms("w")[0]
    assert h.step == 7
    hv = h.histogram_value
    assert (hv.min, hv.max, hv.num, hv.sum, hv.sum_squares) == (0, 11, 12, 66, 506)
    assert sum(read(tmp_path).Histograms("auto")[0].histogram_value.bucket) == 12


def test_histogram_refuses_empty_or_non_finite_values(tbx, tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="empty"):
            w.add_histogram("e", np.zeros(0))
        with pytest.raises(ValueError, match="NaN or Inf"):
            w.add_histogram("n", torchlite.tensor([1.0, float("nan")]))


def test_images_in_every_layout_and_value_range(tbx, tmp_path):
    chw = np.zeros((3, 4, 5), dtype=np.float32)
    chw[0] = 1.0  # red, as floats in [0, 1]
    hwc = np.zeros((4, 5, 3), dtype=np.uint8)
    hwc[..., 1] = 200  # green, as uint8 in [0, 255]
    with SummaryWriter(tmp_path) as w:
        w.add_image("chw", torchlite.from_numpy(chw), 1)
        w.add_image("hwc", hwc, 1, dataformats="HWC")
        w.add_image("hw", torchlite.full((4, 5), 0.5), 1, dataformats="HW")
        w.add_images("batch", torchlite.rand(6, 1, 4, 5), 2)
        w.add_images("batch_nhwc", np.ones((2, 4, 5, 3), dtype=np.float32), 2,
                     dataformats="NHWC")
    acc = read(tmp_path)
    red, green, grey = (_png(acc.Images(t)[0]) for t in ("chw", "hwc", "hw"))
    assert (acc.Images("chw")[0].height, acc.Images("chw")[0].width) == (4, 5)
    assert red.shape == (4, 5, 3) and (red[..., 0] == 255).all() and (red[..., 1:] == 0).all()
    assert (green[..., 1] == 200).all() and (green[..., [0, 2]] == 0).all()
    assert grey.shape[:2] == (4, 5) and np.all(np.abs(grey.astype(int) - 127) <= 1)
    grid = acc.Images("batch")[0]
    assert grid.step == 2 and (grid.height, grid.width) == (4, 6 * 5)  # one row of six tiles
    assert (_png(acc.Images("batch_nhwc")[0]) == 255).all()


def test_image_format_mistakes_are_named(tbx, tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="CHW, HW, HWC"):
            w.add_image("x", np.zeros((3, 4, 4)), dataformats="CWH")
        with pytest.raises(ValueError, match=r"3 dimensions, got shape \(4, 4\)"):
            w.add_image("x", np.zeros((4, 4)))
        with pytest.raises(ValueError, match="NaN or Inf"):
            w.add_image("x", np.full((1, 2, 2), np.inf))


def test_text(tbx, tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "lr **0.1**", 3)
    t = read(tmp_path).Tensors("notes/text_summary")[0]
    assert t.step == 3 and t.tensor_proto.string_val == [b"lr **0.1**"]


def test_hparams_go_to_a_sub_run_with_the_plugin_data(tbx, tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.1, "optimizer": "SGD", "layers": 2, "bn": True,
                       "shape": (2, 3)}, {"hparam/accuracy": torchlite.tensor(0.9)},
                      run_name="trial1")
    acc = read(tmp_path / "trial1")
    content = acc.PluginTagToContent("hparams")
    assert set(content) == {"_hparams_/experiment", "_hparams_/session_start_info",
                            "_hparams_/session_end_info"}
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    start = HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hp = start.session_start_info.hparams
    assert hp["lr"].number_value == 0.1 and hp["optimizer"].string_value == "SGD"
    assert hp["bn"].bool_value is True and hp["shape"].string_value == "(2, 3)"
    assert [e.value for e in acc.Scalars("hparam/accuracy")] == [pytest.approx(0.9)]


def test_add_graph_writes_the_backward_nodes_and_named_parameters(tbx, tmp_path):
    torchlite.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(8, 3))
    x = torchlite.randn(5, 4)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    rng = torchlite.get_rng_state()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, x)
    # one forward ran, yet nothing changed: weights, BatchNorm statistics, gradients, the RNG
    assert all(np.array_equal(before[k], v.numpy()) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert not x.requires_grad
    np.testing.assert_equal(torchlite.get_rng_state(), rng)

    graph = read(tmp_path).Graph()
    nodes = {n.name: n for n in graph.node}
    ops = [n.op for n in graph.node]
    expected = model(x).grad_fn.name()  # the graph walk's names are grad_fn.name()
    assert expected.endswith("Backward0") and ops.count(expected) == 2  # the two Linear layers
    assert {"NativeBatchNormBackward0", "ReluBackward0"} <= set(ops)
    assert {"0/weight", "0/bias", "1/weight", "1/bias", "4/weight", "4/bias", "input/0",
            "output/0"} <= set(nodes)
    assert nodes["0/weight"].op == "Parameter" and nodes["input/0"].op == "Input"
    shape = nodes["4/weight"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [3, 8]
    # edges follow the forward pass: every input named exists, and the output hangs off the
    # last layer's backward node
    assert all(i.split(":")[0] in nodes for n in graph.node for i in n.input)
    (last,) = nodes["output/0"].input
    assert nodes[last].op == expected


def test_add_graph_takes_a_tuple_of_inputs(tbx, tmp_path):
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)

        def forward(self, x, y):
            return self.a(x) + y, x * 2

    with SummaryWriter(tmp_path) as w:
        w.add_graph(Pair(), (torchlite.randn(1, 2), np.ones((1, 2), dtype=np.float32)))
    names = {n.name for n in read(tmp_path).Graph().node}
    assert {"input/0", "input/1", "output/0", "output/1", "a/weight"} <= names
    with SummaryWriter(tmp_path / "b") as w, pytest.raises(ValueError, match="input_to_model"):
        w.add_graph(Pair())


def test_default_log_dir_comment_and_filename_suffix(tbx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1", filename_suffix=".mine", max_queue=3, flush_secs=5)
    w.add_scalar("x", 1.0, 0)
    w.close()
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("_lr0.1") and w.get_logdir() == os.path.join("runs", folder.name)
    (event_file,) = folder.iterdir()
    assert event_file.name.startswith("events.out.tfevents.") and event_file.name.endswith(".mine")
    assert (w.max_queue, w.flush_secs) == (3, 5)


def test_flush_makes_events_readable_before_close(tbx, tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=3600, max_queue=1000)
    w.add_scalar("x", 1.0, 0)
    w.flush()
    assert [e.value for e in read(tmp_path).Scalars("x")] == [1.0]
    w.close()
    w.add_scalar("x", 2.0, 1)  # after close: a new event file, as PyTorch's writer does
    w.close()
    assert [e.value for e in read(tmp_path).Scalars("x")] == [1.0, 2.0]


def test_purge_step_hides_the_events_of_a_crashed_run_from_that_step_on(tbx, tmp_path):
    with SummaryWriter(tmp_path, filename_suffix=".a") as w:
        for step in range(5):
            w.add_scalar("loss", float(step), step)
    with SummaryWriter(tmp_path, purge_step=3, filename_suffix=".b") as w:
        for step in range(3, 5):
            w.add_scalar("loss", 10.0 + step, step)
    values = [(e.step, e.value) for e in read(tmp_path).Scalars("loss")]
    assert values == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 13.0), (4, 14.0)]


def test_values_on_the_device_are_copied_to_the_host(tbx, tmp_path, device):
    x = torchlite.arange(4, dtype=torchlite.float32, device=device)
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("s", x.sum(), 1)
        w.add_histogram("h", x, 1)
        w.add_image("i", (x / 3).reshape(1, 2, 2), 1)
    acc = read(tmp_path)
    assert acc.Scalars("s")[0].value == 6.0
    assert acc.Histograms("h")[0].histogram_value.num == 4
    assert (acc.Images("i")[0].height, acc.Images("i")[0].width) == (2, 2)


def test_event_files_are_real_tfrecords(tbx, tmp_path):
    """The reader above and TensorBoard agree; this pins the framing tensorboardX wrote."""
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("x", 1.0, 0)
    (f,) = Path(tmp_path).iterdir()
    from tensorboardX.proto.event_pb2 import Event

    data = f.read_bytes()
    length = int.from_bytes(data[:8], "little")
    first = Event.FromString(data[12:12 + length])
    assert first.file_version == "brain.Event:2"


def test_max_queue_pending_events_reach_the_disk_without_flush(tbx, tmp_path):
    w = SummaryWriter(tmp_path, max_queue=2, flush_secs=3600)
    for step in range(5):
        w.add_scalar("x", float(step), step)
    # every second event flushed: four on disk, the fifth waits for close()
    assert [e.step for e in read(tmp_path).Scalars("x")] == [0, 1, 2, 3]
    w.close()
    assert [e.step for e in read(tmp_path).Scalars("x")] == [0, 1, 2, 3, 4]


def test_a_writer_never_closed_still_writes_its_events_at_exit(tbx, tmp_path):
    import subprocess

    code = ("from torchlite.utils.tensorboard import SummaryWriter\n"
            f"w = SummaryWriter({str(tmp_path)!r}, flush_secs=3600)\n"
            "w.add_scalar('x', 3.0, 1)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert [(e.step, e.value) for e in read(tmp_path).Scalars("x")] == [(1, 3.0)]
