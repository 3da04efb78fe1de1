"""torchlite.training.plots: run curves, overlays and eval pictures (labels checked through
matplotlib's objects, files through their PNG header), and the run without matplotlib."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import digits_config

from torchlite.errors import InputNotFoundError, UsageError
from torchlite.training import api, plots
from torchlite.training.run_guard import RunFolderError
from torchlite.training.runs import atomic_write_csv, metrics_header

HINT = "plots skipped: pip install 'torchlite[plot]'"


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib", reason="needs matplotlib: pip install "
                               "'torchlite[plot]'")


def hide_matplotlib(monkeypatch) -> None:
    """matplotlib as if it were not installed (whether it is or not): every import of it fails."""
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def no_matplotlib(monkeypatch):
    hide_matplotlib(monkeypatch)


def png_size(path: Path) -> tuple[int, int]:
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def fake_run(root: Path, name: str = "r", epochs: int = 5, *, summary: dict | None = None,
             values: dict | None = None, lr=None) -> Path:
    """A run folder holding only metrics.csv (accuracy as its metric) and summary.json."""
    folder = root / name
    folder.mkdir(parents=True)
    rows = []
    for e in range(1, epochs + 1):
        row = {"epoch": e, "step": 10 * e, "time_s": 0.1, "lr": lr(e) if lr else 1e-3,
               "train/loss": 1 / e, "val/loss": 1.2 / e, "train/accuracy": 1 - 1 / (e + 1),
               "val/accuracy": 1 - 1.5 / (e + 2)}
        row.update((values or {}).get(e, {}))
        rows.append(row)
    atomic_write_csv(folder / "metrics.csv", metrics_header(["accuracy"]), rows)
    if summary is not False:
        summary = summary or {"best_epoch": epochs, "monitor": "val/accuracy",
                              "best_value": 0.8}
        (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


# -- reading a run --------------------------------------------------------------------------------
def test_read_run_turns_empty_and_non_finite_cells_into_nan(tmp_path):
    run = fake_run(tmp_path, values={2: {"val/loss": "nan"}, 3: {"train/loss": "inf"},
                                     4: {"val/accuracy": ""}})
    h = plots.read_run(run)
    assert h.name == "r" and h.epochs.tolist() == [1, 2, 3, 4, 5]
    assert np.isnan(h.columns["val/loss"][1]) and np.isnan(h.columns["train/loss"][2])
    assert np.isnan(h.columns["val/accuracy"][3])
    assert h.metrics == ["loss", "accuracy"]
    assert (h.best_epoch, h.monitor, h.best_value) == (5, "val/accuracy", 0.8)


def test_read_run_without_summary_has_no_best_epoch(tmp_path):
    h = plots.read_run(fake_run(tmp_path, summary=False))
    assert h.best_epoch is None


def test_read_run_names_a_folder_without_metrics(tmp_path):
    with pytest.raises(InputNotFoundError, match="no metrics.csv"):
        plots.read_run(tmp_path)


# -- run curves -----------------------------------------------------------------------------------
def test_curve_figure_labels_and_best_epoch(tmp_path, mpl):
    h = plots.read_run(fake_run(tmp_path, summary={"best_epoch": 3, "monitor": "val/accuracy",
                                                   "best_value": 0.7}))
    fig = plots.curve_figure(h, "accuracy")
    (ax,) = fig.axes
    assert ax.get_title() == "r: accuracy"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "accuracy")
    assert legend_texts(ax) == ["train", "val", "best epoch 3 (val/accuracy 0.7)"]
    best = [line for line in ax.get_lines() if line.get_label().startswith("best epoch")]
    assert list(best[0].get_xdata()) == [3, 3]


def test_curve_figure_counts_non_finite_points_in_the_legend(tmp_path, mpl):
    h = plots.read_run(fake_run(tmp_path, values={2: {"val/loss": "nan"},
                                                  3: {"val/loss": "inf"}}))
    ax = plots.curve_figure(h, "loss").axes[0]
    assert "val (2 non-finite, not drawn)" in legend_texts(ax)


def test_an_all_nan_column_says_there_is_nothing_to_draw(tmp_path, mpl):
    h = plots.read_run(fake_run(tmp_path, values={e: {"val/accuracy": "nan"}
                                                  for e in range(1, 6)}))
    ax = plots.curve_figure(h, "accuracy").axes[0]
    assert "val (no finite values)" in legend_texts(ax)
    h = plots.read_run(fake_run(tmp_path, "all", values={
        e: {"val/accuracy": "nan", "train/accuracy": "nan"} for e in range(1, 6)}))
    ax = plots.curve_figure(h, "accuracy").axes[0]
    assert "no finite values to draw" in [t.get_text() for t in ax.texts]
    assert ax.get_xlim()[0] <= 1 and ax.get_xlim()[1] >= 5  # the run's epochs, not 0 +- 0.05


def test_one_epoch_gets_room_around_its_point(tmp_path, mpl):
    h = plots.read_run(fake_run(tmp_path, epochs=1))
    ax = plots.curve_figure(h, "loss").axes[0]
    lo, hi = ax.get_xlim()
    assert lo <= 0.5 and hi >= 1.5


def test_lr_figure_uses_a_log_scale_across_decades(tmp_path, mpl):
    h = plots.read_run(fake_run(tmp_path, epochs=30, lr=lambda e: 0.1 * 0.7 ** e))
    ax = plots.lr_figure(h).axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "learning rate"
    assert ax.get_title() == "r: learning rate"
    h = plots.read_run(fake_run(tmp_path, "flat", epochs=100))
    ax = plots.lr_figure(h).axes[0]
    assert ax.get_yscale() == "linear"
    assert ax.get_lines()[0].get_marker() in (None, "None", "")  # 100 points: a plain line


def test_write_run_plots_writes_one_png_per_quantity(tmp_path, mpl):
    run = fake_run(tmp_path)
    written = plots.write_run_plots(run)
    assert [p.name for p in written] == ["loss.png", "accuracy.png", "lr.png"]
    for p in written:
        assert p.parent == run / "plots"
        width, height = png_size(p)
        assert width >= 400 and height >= 300


def test_write_run_plots_never_writes_through_a_link(tmp_path, mpl):
    run = fake_run(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (run / "plots").symlink_to(elsewhere)
    with pytest.raises(RunFolderError, match="symbolic link"):
        plots.write_run_plots(run)
    assert list(elsewhere.iterdir()) == []
    (run / "plots").unlink()
    (run / "plots").mkdir()
    target = tmp_path / "precious.png"
    target.write_bytes(b"mine")
    (run / "plots" / "loss.png").symlink_to(target)
    with pytest.raises(RunFolderError):
        plots.write_run_plots(run)
    assert target.read_bytes() == b"mine"


# -- overlays -------------------------------------------------------------------------------------
def test_overlay_has_one_line_per_run_named_in_the_legend(tmp_path, mpl):
    runs = [fake_run(tmp_path, f"run{i}", epochs=3 + i) for i in range(3)]
    path, column = plots.write_overlay(runs, "val/accuracy", tmp_path / "cmp.png")
    assert column == "val/accuracy" and png_size(path)[0] > 0
    fig = plots.overlay_figure([plots.read_run(r) for r in runs], "val/accuracy")
    ax = fig.axes[0]
    assert legend_texts(ax) == ["run0", "run1", "run2"]
    assert ax.get_legend().get_title().get_text() == "run"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "val/accuracy")
    assert ax.get_title() == "val/accuracy by epoch, 3 runs"
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [3, 4, 5]


def test_overlay_default_column_output_and_same_named_runs(tmp_path, mpl):
    a = fake_run(tmp_path / "a", "same")
    b = fake_run(tmp_path / "b", "same")
    path, column = plots.write_overlay([a, b])
    assert column == "val/loss" and path == tmp_path / "a" / "compare" / "val_loss.png"
    assert path.is_file()
    labels = plots._unique_names([plots.read_run(a), plots.read_run(b)], [a, b])
    assert labels == [str(a), str(b)]


def test_overlay_refuses_an_unknown_column_or_format(tmp_path):
    run = fake_run(tmp_path)
    with pytest.raises(UsageError, match="did you mean 'val/accuracy'"):
        plots.write_overlay([run], "val/acuracy")
    with pytest.raises(UsageError, match="unsupported extension"):
        plots.write_overlay([run], "val/loss", tmp_path / "x.jpg2")


def test_plot_runs_redraws_one_run_or_overlays(tmp_path, mpl, monkeypatch):
    run = fake_run(tmp_path / "runs", "named")
    monkeypatch.chdir(tmp_path)
    out = plots.plot_runs(["named"])  # a run name under runs/
    assert out["metric"] is None and len(out["files"]) == 3
    assert all(Path(f).parent == Path("runs/named/plots") for f in out["files"])
    out = plots.plot_runs([run, run / "metrics.csv"], metric="train/loss")
    assert out["metric"] == "train/loss" and Path(out["files"][0]).is_file()


# -- eval pictures --------------------------------------------------------------------------------
def test_confusion_figure_names_classes_and_writes_counts(mpl):
    fig = plots.confusion_figure([[5, 1], [0, 7]], ["cat", "dog"], "cm title")
    ax = fig.axes[0]
    assert ax.get_title() == "cm title"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "5", "7"]
    assert fig.axes[1].get_ylabel() == "samples"  # the colour bar


def test_confusion_figure_keeps_long_names_apart_and_many_classes_readable(mpl):
    names = [f"a very long class name number {i} with several words" for i in range(12)]
    ax = plots.confusion_figure(np.eye(12, dtype=int) * 30, names).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(set(labels)) == 12 and max(map(len, labels)) <= 24
    assert ax.get_xticklabels()[0].get_rotation() == 45
    ax = plots.confusion_figure(np.eye(100, dtype=int) * 5).axes[0]
    assert len(ax.texts) == 0  # 10,000 counts would be specks: the colours carry them
    assert len(ax.get_xticks()) < 30


def test_scatter_figure_labels_identity_line_and_non_finite(mpl):
    pred = np.array([[0.0], [1.0], [np.nan], [3.0]])
    true = np.array([[0.1], [0.9], [2.0], [2.5]])
    ax = plots.scatter_figure(pred, true, "scatter").axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == \
        ("true value", "predicted value", "scatter")
    assert legend_texts(ax) == ["samples (1 non-finite, not drawn)", "y = x"]


# -- train and eval -------------------------------------------------------------------------------
def events_of(calls):
    return [info for event, info in calls if event == "plots"]


def recorder():
    calls = []

    def callback(event, **info):
        calls.append((event, info))

    return calls, callback


def test_train_draws_plots_at_the_end(tmp_path, mpl):
    calls, cb = recorder()
    summary = api.train(digits_config(tmp_path, epochs=2), callback=cb)
    folder = Path(summary["run_dir"]) / "plots"
    assert sorted(p.name for p in folder.iterdir()) == ["accuracy.png", "loss.png", "lr.png"]
    (info,) = events_of(calls)
    assert info["skipped"] is None and sorted(Path(f).name for f in info["files"]) == \
        ["accuracy.png", "loss.png", "lr.png"]
    assert [e for e, _ in calls][-2:] == ["plots", "end"]
    assert "plots: 3 files in" in (Path(summary["run_dir"]) / "train.log").read_text()


@pytest.mark.parametrize("how", ["argument", "config"])
def test_train_without_plots(tmp_path, how):
    calls, cb = recorder()
    if how == "argument":
        summary = api.train(digits_config(tmp_path), callback=cb, plots=False)
    else:
        summary = api.train(digits_config(tmp_path), ["output.plots=false"], callback=cb)
    assert not (Path(summary["run_dir"]) / "plots").exists()
    assert events_of(calls) == []


def test_train_without_matplotlib_says_one_line_and_changes_nothing_else(tmp_path,
                                                                          no_matplotlib):
    calls, cb = recorder()
    summary = api.train(digits_config(tmp_path), callback=cb)
    assert summary["status"] == "completed"
    assert events_of(calls) == [{"files": [], "skipped": HINT}]
    assert not (Path(summary["run_dir"]) / "plots").exists()
    assert HINT in (Path(summary["run_dir"]) / "train.log").read_text()


def test_a_link_at_plots_costs_the_run_nothing(tmp_path, mpl):
    calls, cb = recorder()
    cfg = digits_config(tmp_path)
    summary = api.train(cfg, callback=cb, plots=False)
    run = Path(summary["run_dir"])
    (tmp_path / "elsewhere").mkdir()
    (run / "plots").symlink_to(tmp_path / "elsewhere")
    summary = api.resume(run, ["trainer.epochs=3"], callback=cb)
    assert summary["status"] == "completed"
    (info,) = events_of(calls)
    assert info["skipped"].startswith("plots not written:") and "symbolic link" in \
        info["skipped"]
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_exist_ok_deletes_the_old_runs_plots(tmp_path, mpl):
    cfg = digits_config(tmp_path)
    run = Path(api.train(cfg)["run_dir"])
    assert (run / "plots" / "loss.png").is_file()
    api.train(cfg, exist_ok=True, plots=False)
    assert not (run / "plots").exists()


def test_eval_draws_a_confusion_matrix_beside_its_report(tmp_path, mpl):
    run = Path(api.train(digits_config(tmp_path), plots=False)["run_dir"])
    rep = api.evaluate_checkpoint(run)
    assert rep["plot"] == str(run / "eval" / "confusion_matrix.png")
    assert png_size(rep["plot"])[0] > 0
    assert "plot" not in json.loads((run / "eval" / "report.json").read_text())
    ax = plots.eval_figure(rep).axes[0]
    assert ax.get_title().startswith("confusion matrix (test split, ")
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(10)]


def test_eval_draws_predicted_vs_true_for_regression(tmp_path, mpl):
    cfg = tmp_path / "reg.yaml"
    cfg.write_text(f"""\
name: reg
device: cpu
data: {{dataset: regression, n_samples: 200, n_features: 4, val_split: 0.2, test_split: 0.2}}
model: {{type: mlp, hidden: [8]}}
loss: {{type: MSELoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 2, checkpoint: {{monitor: val/r2, mode: max}}}}
metrics: [mse, r2]
output: {{root: {tmp_path / 'runs'}}}
""")
    run = Path(api.train(cfg)["run_dir"])
    assert sorted(p.name for p in (run / "plots").iterdir()) == \
        ["loss.png", "lr.png", "mse.png", "r2.png"]
    rep = api.evaluate_checkpoint(run)
    assert Path(rep["plot"]).name == "predicted_vs_true.png" and png_size(rep["plot"])[0] > 0


def test_eval_without_plots_or_matplotlib(tmp_path, monkeypatch):
    run = Path(api.train(digits_config(tmp_path), plots=False)["run_dir"])
    rep = api.evaluate_checkpoint(run, plots=False)
    assert "plot" not in rep and "plot_error" not in rep
    hide_matplotlib(monkeypatch)
    rep = api.evaluate_checkpoint(run)
    assert rep["plot_error"] == HINT and "plot" not in rep
    assert rep["report_dir"] and not (run / "eval" / "confusion_matrix.png").exists()


def test_eval_never_draws_through_a_link(tmp_path, mpl):
    run = Path(api.train(digits_config(tmp_path), plots=False)["run_dir"])
    (run / "eval").mkdir()
    target = tmp_path / "precious.png"
    target.write_bytes(b"mine")
    (run / "eval" / "confusion_matrix.png").symlink_to(target)
    rep = api.evaluate_checkpoint(run)
    assert rep["plot_error"].startswith("plot not written:") and "plot" not in rep
    assert target.read_bytes() == b"mine"


# -- matplotlib stays out of the way --------------------------------------------------------------
def test_matplotlib_is_imported_only_to_draw_and_pyplot_never(tmp_path, mpl):
    run = fake_run(tmp_path)
    code = ("import sys\nimport torchlite.training.api, torchlite.training.plots as p\n"
            "before = 'matplotlib' in sys.modules\n"
            f"p.write_run_plots({str(run)!r})\n"
            "print(before, 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=os.getcwd())
    assert out.stdout.split() == ["False", "False"]


def test_missing_matplotlib_is_a_usage_error_naming_the_extra(tmp_path, no_matplotlib):
    err = plots.PlotsUnavailableError
    assert issubclass(err, ImportError) and err.exit_code == 2
    with pytest.raises(err, match=r"pip install 'torchlite\[plot\]'"):
        plots.write_run_plots(fake_run(tmp_path))
    assert not (tmp_path / "r" / "plots").exists()
