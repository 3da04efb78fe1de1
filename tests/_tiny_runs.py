"""What the eval/infer/CLI tests share: a one-epoch digits MLP config, a custom model whose
`mode` argument makes its own code fail in a chosen way, and a way to edit a checkpoint."""

import json
from pathlib import Path

import torchlite
from torchlite.serialization import read_metadata

# format with name= and root= (the runs folder)
TINY_DIGITS = """\
name: {name}
seed: 0
device: cpu
data: {{dataset: digits, val_split: 0.2, test_split: 0.2, batch_size: 128, normalize: standard}}
model: {{type: mlp, hidden: [16]}}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: 1}}
output: {{root: {root}}}
"""

# A digits Linear-ReLU-Linear config (BatchNorm after the first Linear with batch_norm=True),
# the one the pre-run check, device and file-error tests share.
_SEQUENTIAL_DIGITS = """\
name: {name}
seed: 0
device: {device}
data: {{dataset: digits, val_split: 0.2, test_split: 0.2, batch_size: {batch_size}{data}}}
model:
  type: sequential
  layers:
    - {{type: Linear, in_features: 64, out_features: 16}}{norm}
    - {{type: ReLU}}
    - {{type: Linear, in_features: 16, out_features: 10}}
loss: {{type: CrossEntropyLoss}}
optimizer: {{type: Adam, lr: 1e-2}}
trainer: {{epochs: {epochs}{trainer}}}
metrics: [accuracy]
output: {{root: {root}}}
"""


def digits_config(folder: Path, name: str = "t", *, epochs: int = 2, device: str = "cpu",
                  batch_size: int = 128, data: str = ", input_shape: [64]", trainer: str = "",
                  batch_norm: bool = False) -> Path:
    """`<name>.yaml` in `folder`, its runs going to folder/runs; `data` and `trainer` are extra
    flow-mapping entries (", key: value") for those sections."""
    norm = "\n    - {type: BatchNorm1d, num_features: 16}" if batch_norm else ""
    path = folder / f"{name}.yaml"
    path.write_text(_SEQUENTIAL_DIGITS.format(
        name=name, device=device, batch_size=batch_size, data=data, norm=norm, epochs=epochs,
        trainer=trainer, root=folder / "runs"))
    return path


# net.py for `model: {type: custom, target: .../net.py:Net, args: {mode: ...}}`
NET = """\
import torchlite.nn as nn


class Net(nn.Module):
    def __init__(self, mode="ok"):
        super().__init__()
        if mode == "boom":
            raise RuntimeError("boom in init")
        if mode == "oom":
            raise MemoryError("Unable to allocate 8.00 EiB for an array")
        self.mode = mode
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        if self.mode == "dict":
            return {"logits": self.fc(x)}
        if self.mode == "fail":
            raise KeyError("bad forward")
        if self.mode == "train_only" and self.training:
            raise RuntimeError("only when training")
        return self.fc(x)
"""


def rewrite_checkpoint(src: Path, dst: Path, edit, weights=None) -> Path:
    """A copy of checkpoint `src` whose metadata dict went through `edit` (edited in place, or
    replaced by what `edit` returns), and whose arrays through `weights(name, array)`."""
    info = json.loads(read_metadata(src)["torchlite_checkpoint"])
    info = edit(info) or info
    state = torchlite.load(src)
    if weights:
        state = {k: torchlite.from_numpy(weights(k, v.numpy())) for k, v in state.items()}
    torchlite.save(state, dst, metadata={"torchlite_checkpoint": json.dumps(info)})
    return dst
