"""A small checkpoint whose metadata asks for gigabytes is refused before they are allocated:
a stored config whose model holds far more than the file's tensors, metadata input shapes or
a stored batch size that make a huge made-up batch, and a synthetic dataset of a billion
samples to rebuild for eval. Each is a CheckpointError (exit 3) naming the file, raised in a
fresh process whose peak memory is read back: a refusal that came only after allocating would
show gigabytes there (or the process would die).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS, rewrite_checkpoint
from test_resource_bombs import _peak_mib_of

from torchlite.training import api

PEAK_MIB = 600


def _peak_of(code: str) -> tuple[str, float]:
    """_peak_mib_of in a child whose address space is capped at 16 GiB, so that a regression
    fails here with a MemoryError rather than by swapping the host."""
    cap = "import resource; resource.setrlimit(resource.RLIMIT_AS, (16 << 30, 16 << 30))\n"
    return _peak_mib_of(cap + textwrap.dedent(code))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("alloc")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(TINY_DIGITS.format(name="tiny", root=tmp / "runs"))
    api.train(cfg)
    return tmp / "runs" / "tiny" / "weights" / "best.safetensors"


def _config(**model):
    def edit(info):
        info["config"]["model"].update(model)
    return edit


def _sequential(out_features):
    def edit(info):
        info["config"]["model"] = {"type": "sequential", "layers": [
            {"type": "Linear", "in_features": 64, "out_features": out_features}]}
    return edit


def _preprocess(**fields):
    def edit(info):
        info["preprocess"].update(fields)
    return edit


def _data(**fields):
    def edit(info):
        info["config"]["data"].update(fields)
    return edit


# (edit, library call, what the refusal says)
CASES = {
    "mlp_hidden": (_config(hidden=[30000, 30000]), "api.predict(np.zeros((1, 64)), ckpt)",
                   r"the weights do not fit the model in its config: shapes differ for "
                   r"0.weight \(checkpoint \[16, 64\], model \[30000, 64\]\)"),
    "linear_out": (_sequential(10**9), "api.summarize(ckpt)",
                   r"0.weight \(checkpoint \[16, 64\], model \[1000000000, 64\]\).*"
                   r"not in the model: 2.bias, 2.weight"),
    "input_shape": (_preprocess(input_shape=[10**9], raw_shape=[10**9]), "api.summarize(ckpt)",
                    r"preprocess.raw_shape asks for samples of shape \[1000000000\], "
                    r"1,000,000,000 values, more than torchlite allocates"),
    "graph_batch": (_data(batch_size=10**7), "draw_graph(ckpt, '-')",
                    r"its config's data.batch_size asks for 10,000,000 samples of shape \[64\]"
                    r".*pass a smaller --batch-size"),
    "eval_blobs": (_data(dataset="blobs", n_samples=10**9, n_features=64, n_classes=10),
                   "api.evaluate_checkpoint(ckpt)",
                   r"its config's dataset blobs \(n_classes: 10, n_features: 64, n_samples: "
                   r"1000000000\) would hold 66,000,000,640 values.*--data"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_crafted_checkpoint_is_refused_before_allocating(trained, tmp_path, case):
    edit, call, said = CASES[case]
    ckpt = rewrite_checkpoint(trained, tmp_path / f"{case}.safetensors", edit)
    assert ckpt.stat().st_size < 64 << 10
    out, peak = _peak_of(f"""
        import numpy as np
        from torchlite.serialization import CheckpointError
        from torchlite.training import api
        from torchlite.training.graph import draw_graph
        ckpt = {str(ckpt)!r}
        try:
            {call}
        except CheckpointError as exc:
            print("CheckpointError", exc.exit_code, exc)
        except BaseException as exc:
            print(type(exc).__name__, exc)
    """)
    assert out.startswith(f"CheckpointError 3 {ckpt}: "), out
    assert re.search(said, out), out
    assert peak < PEAK_MIB, f"peak memory {peak:.0f} MiB: allocated before refusing"


def test_eval_refuses_an_oversized_model_through_the_cli(trained, tmp_path):
    ckpt = rewrite_checkpoint(trained, tmp_path / "huge.safetensors",
                              _config(hidden=[30000, 30000]))
    out, peak = _peak_of(f"""
        from typer.testing import CliRunner
        from torchlite_cli.main import app
        r = CliRunner().invoke(app, ["eval", {str(ckpt)!r}])
        print(r.exit_code, " ".join(r.output.split()))
    """)
    assert out.startswith(f"3 error: {ckpt}: the weights do not fit the model in its config"), out
    assert "smaller batch" not in out
    assert peak < PEAK_MIB, f"peak memory {peak:.0f} MiB: allocated before refusing"


def test_a_checkpoint_that_fits_still_loads_and_its_model_is_real(trained):
    from torchlite.training.restore import model_from_checkpoint

    model, _, _ = model_from_checkpoint(trained, "cpu")
    for name, t in model.state_dict().items():
        assert t.numpy().flags.writeable and t.numpy().strides != (0,) * t.ndim, name
    assert api.summarize(trained)["total_parameters"] == 1210


# a custom model with the digits MLP's layout, its width an argument the checkpoint stores;
# `scale` makes its own code write into its weights in __init__, which shape-only storage
# refuses: such a model is not checked beforehand, but still loads
SEQ_NET = """\
import torchlite
import torchlite.nn as nn


class Net(nn.Sequential):
    def __init__(self, hidden=16, scale=False):
        super().__init__(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
        if scale:
            with torchlite.no_grad():
                self[0].weight.mul_(0.5)
"""


def _custom(net: Path, **args):
    def edit(info):
        info["config"]["model"] = {"type": "custom", "target": f"{net}:Net", "args": args}
    return edit


def test_a_custom_model_is_checked_against_the_checkpoint(trained, tmp_path):
    net = tmp_path / "net.py"
    net.write_text(SEQ_NET)
    huge = rewrite_checkpoint(trained, tmp_path / "huge.safetensors",
                              _custom(net, hidden=10**8))
    out, peak = _peak_of(f"""
        import numpy as np
        from torchlite.serialization import CheckpointError
        from torchlite.training import api
        try:
            api.predict(np.zeros((1, 64)), {str(huge)!r}, model_code={str(net)!r})
        except CheckpointError as exc:
            print("CheckpointError", exc)
    """)
    assert out.startswith(f"CheckpointError {huge}: the weights do not fit"), out
    assert peak < PEAK_MIB, f"peak memory {peak:.0f} MiB: allocated before refusing"
    for args in ({}, {"scale": True}):
        ok = rewrite_checkpoint(trained, tmp_path / "ok.safetensors", _custom(net, **args))
        assert api.predict(np.zeros((2, 64)), ok, model_code=str(net))["n"] == 2
