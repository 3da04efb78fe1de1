"""A checkpoint's metadata values parsed as JSON without trusting them: every JSON value torchlite
reads from a file's metadata goes through `parse_metadata_json`, which bounds how deeply it may
nest (json itself would recurse into a RecursionError on '[' * 100000), and problems become a
CheckpointError naming the file.
"""

from __future__ import annotations

import json

from .errors import CheckpointError

# How deeply one metadata value (JSON in a string, which the header's own depth limit does not
# see) may nest. Decoding recurses once per level, so this keeps a crafted file far from Python's
# recursion limit; what torchlite writes nests a few levels per dict of a state (3 JSON levels).
MAX_METADATA_DEPTH = 100

def malformed(path, what: str) -> CheckpointError:
    """The error for metadata that is not what torchlite wrote: names the file and the problem."""
    return CheckpointError(f"{path}: checkpoint metadata is malformed: {what}")


def parse_metadata_json(path, text: str, key: str):
    """Metadata value `text` (under `key` in file `path`) parsed as JSON. Every JSON value that
    torchlite reads from a file's metadata goes through here: text that is not JSON, or that
    nests more than MAX_METADATA_DEPTH levels, raises CheckpointError naming the file (json
    itself would recurse into a RecursionError on '[' * 100000)."""
    too_deep = malformed(path, f"the '{key}' entry nests more than {MAX_METADATA_DEPTH} "
                               "levels deep")
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:  # not JSON, or an integer past Python's digit limit
        raise malformed(path, f"the '{key}' entry is not JSON ({shorten(str(exc))})") from None
    if json_depth(value) > MAX_METADATA_DEPTH:
        raise too_deep
    return value


def json_depth(value) -> int:
    """How deeply a parsed JSON value nests (0 for a scalar, 1 for a flat list or object),
    computed without recursion; stops counting past MAX_METADATA_DEPTH."""
    depth, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            items = v.values()
        elif isinstance(v, list):
            items = v
        else:
            continue
        if d > depth:
            depth = d
            if depth > MAX_METADATA_DEPTH:
                break
        stack.extend((x, d + 1) for x in items if isinstance(x, (dict, list)))
    return depth


def describe(value) -> str:
    """A short description of a JSON value for a message: its type, and the value if short."""
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")
    if isinstance(value, (dict, list)) and (len(value) > 8 or json_depth(value) > 4):
        return kind
    return kind if value is None else f"{kind} ({shorten(json.dumps(value), 40)})"


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
