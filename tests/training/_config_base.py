"""A small valid config (BASE) and helpers shared by the config tests."""

import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))

BASE = textwrap.dedent("""\
    name: t
    seed: 0
    device: auto
    data:
      dataset: digits
      val_split: 0.1
      test_split: 0.2
      batch_size: 32
      normalize: standard
    model:
      type: sequential
      layers:
        - {type: Linear, in_features: 64, out_features: 32}
        - {type: ReLU}
        - {type: Linear, in_features: 32, out_features: 10}
    loss: {type: CrossEntropyLoss}
    optimizer: {type: AdamW, lr: 1e-3}
    scheduler: {type: StepLR, step_size: 5}
    trainer:
      epochs: 3
      early_stopping: {monitor: val/loss, patience: 2}
      checkpoint: {monitor: val/accuracy, mode: max}
    metrics: [accuracy, f1_macro]
    output: {root: runs}
""")
# line numbers in BASE: 1 name, 3 device, 5 dataset, 9 normalize, 11 model.type, 13-15 layers,
# 16 loss, 17 optimizer, 18 scheduler, 20 epochs, 21 early_stopping, 22 checkpoint, 23 metrics


def write(tmp_path, text: str, name: str = "cfg.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def sub(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


MODEL = BASE[BASE.index("  type: sequential") : BASE.index("loss:")]
