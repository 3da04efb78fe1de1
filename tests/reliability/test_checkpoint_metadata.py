"""Crafted checkpoint metadata (JSON nested past any sensible depth, a skeleton of the wrong
types) is a CheckpointError naming the file, exit 3 in the CLI, never an "internal error".

The files are written with the safetensors library's own writer, without torchlite's digest
entry, as anyone can write them: such files load (PyTorch and other tools write them), so their
metadata is all that stands between the file and torchlite's decoder.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _tiny_runs import TINY_DIGITS
from safetensors.numpy import save_file
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite
from torchlite.serialization import CheckpointError, read_metadata
from torchlite.training.checkpoint import read_checkpoint_info
from torchlite.training.restore import checkpoint_info

DEEP = "[" * 200_000  # json.loads recurses once per "[" before it finds the text unfinished
NESTED = "[" * 900 + "]" * 900  # well-formed, and deeper than decoding can recurse


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The arrays and the training metadata of a one-epoch digits checkpoint."""
    root = tmp_path_factory.mktemp("metadata")
    (root / "tiny.yaml").write_text(TINY_DIGITS.format(name="tiny", root=root / "runs"))
    r = CliRunner().invoke(app, ["train", str(root / "tiny.yaml"), "--plain"])
    assert r.exit_code == 0, r.output
    best = root / "runs" / "tiny" / "weights" / "best.safetensors"
    arrays = {k: v.numpy() for k, v in torchlite.load(best).items()}
    return arrays, read_metadata(best)["torchlite_checkpoint"]


def _torchlite_entry(skeleton: str) -> str:
    return '{"version": "1", "skeleton": ' + skeleton + "}"


@pytest.mark.parametrize("key, value, what", [
    ("torchlite_checkpoint", DEEP, "the 'torchlite_checkpoint' entry nests more than 100 levels"),
    ("torchlite_checkpoint", NESTED, "the 'torchlite_checkpoint' entry nests more than 100"),
    ("torchlite", DEEP, "the 'torchlite' entry nests more than 100 levels deep"),
    ("torchlite", _torchlite_entry(NESTED), "the 'torchlite' entry nests more than 100 levels"),
    ("torchlite", _torchlite_entry('{"__dict__": 5}'), "a '__dict__' entry is a number"),
    ("torchlite", _torchlite_entry('{"__tensor__": ["w"]}'), "a '__tensor__' reference is a list"),
])
@pytest.mark.parametrize("command", ["eval", "summary"])
def test_the_cli_exits_3_on_crafted_metadata(trained, tmp_path, command, key, value, what):
    arrays, info = trained
    bad = tmp_path / "crafted.safetensors"
    save_file(arrays, str(bad), metadata={"torchlite_checkpoint": info, key: value})
    r = CliRunner().invoke(app, [command, str(bad)])
    assert r.exit_code == 3, r.output
    assert f"error: {bad}: checkpoint metadata is malformed: {what}" in " ".join(r.output.split())


def test_a_digest_entry_nested_too_deeply_is_a_corrupt_file(trained, tmp_path):
    arrays, info = trained
    bad = tmp_path / "crafted.safetensors"
    save_file(arrays, str(bad), metadata={"torchlite_checkpoint": info, "torchlite_digest": DEEP})
    r = CliRunner().invoke(app, ["eval", str(bad)])
    assert r.exit_code == 3, r.output
    assert f"error: {bad} is corrupt: its digest entry" in " ".join(r.output.split())


@pytest.mark.parametrize("value, what", [
    (DEEP, "the 'torchlite_checkpoint' entry nests more than 100 levels deep"),
    (NESTED, "the 'torchlite_checkpoint' entry nests more than 100 levels deep"),
    ('{"format_version": ' + "[" * 100 + "]" * 100 + "}",
     "the 'torchlite_checkpoint' entry nests more than 100 levels deep"),
    ("{oops", "the 'torchlite_checkpoint' entry is not JSON"),
    ("[1]", "expected a JSON object"),
])
@pytest.mark.parametrize("reader", [read_checkpoint_info, checkpoint_info])
def test_checkpoint_info_of_crafted_metadata(tmp_path, reader, value, what):
    bad = tmp_path / "crafted.safetensors"
    save_file({"w": np.ones(2, np.float32)}, str(bad), metadata={"torchlite_checkpoint": value})
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(bad))}: checkpoint metadata "
                                              f"is malformed: {what}"):
        reader(bad)


def test_training_metadata_is_far_from_the_depth_limit(trained, tmp_path):
    # what train writes nests a few levels; the limit is there for crafted files only
    def depth(v):
        return 1 + max(map(depth, v.values() if isinstance(v, dict) else v), default=0) \
            if isinstance(v, (dict, list)) else 0

    arrays, info = trained
    assert depth(json.loads(info)) < 20
