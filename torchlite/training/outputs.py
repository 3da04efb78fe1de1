"""Writing predictions: .npy (logits or probabilities), .csv (index, class, confidence; or
values), .json; by default predictions.csv in a new runs/infer/<input name> folder."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from pathlib import Path

import numpy as np

from torchlite.errors import UsageError
from torchlite.serialization import atomic_write_bytes

from .runs import create_run_dir, json_safe

SUFFIXES = (".npy", ".csv", ".json")


def _csv(result: dict) -> str:
    buf = io.StringIO()
    if result["task"] == "classification":
        names = result.get("classes")
        buf.write("index,class,confidence\n")
        for i, (c, p) in enumerate(zip(result["pred"], result["confidence"])):
            label = names[int(c)] if names else int(c)
            buf.write(f"{i},{label},{p:.6f}\n")
    else:
        out = result["output"]
        cols = out.shape[1] if out.ndim > 1 else 1
        buf.write("index," + ",".join(f"value_{j}" for j in range(cols)) + "\n")
        for i, row in enumerate(out.reshape(len(out), -1)):
            buf.write(f"{i}," + ",".join(f"{v:.8g}" for v in row) + "\n")
    return buf.getvalue()


def infer_folder_name(input_path) -> str:
    """The runs/infer/<name> folder name for an input file: its stem, with accents folded to
    ASCII, then made a valid run name by the rule `train` applies to config stems (see
    config.load_config), so "my input.npy" gives my_input rather than an error."""
    stem = unicodedata.normalize("NFKD", Path(input_path).stem)
    stem = stem.encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._\-]", "_", stem).lstrip("._-")[:100] or "infer"


def write_predictions(result: dict, output: Path | None, input_path: Path,
                      root: str = "runs") -> Path:
    """Write `result` (from api.predict) to `output`, or to runs/infer/<name>/predictions.csv."""
    if output is None:
        paths = create_run_dir(Path(root) / "infer", infer_folder_name(input_path),
                               weights=False)
        output = paths.root / "predictions.csv"
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, np.asarray(result["output"], dtype=np.float32), allow_pickle=False)
        data = buf.getvalue()
    elif suffix == ".csv":
        data = _csv(result).encode()
    elif suffix == ".json":
        obj = {"checkpoint": result["checkpoint"], "task": result["task"],
               "output": np.asarray(result["output"]).tolist()}
        if result["task"] == "classification":
            obj["pred"] = np.asarray(result["pred"]).tolist()
            obj["confidence"] = np.asarray(result["confidence"]).tolist()
            obj["classes"] = result.get("classes")
        data = json.dumps(json_safe(obj), allow_nan=False).encode()  # NaN is not JSON
    else:
        raise UsageError(f"--output {output}: unsupported extension {suffix!r} "
                         "(use .npy, .csv or .json)")
    atomic_write_bytes(str(output), data)
    return output
