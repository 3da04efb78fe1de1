"""The engine behind the `torchlite` CLI, usable from Python. One straight path: load (`loader`:
YAML with line numbers, overrides) -> validate (`config`, `specs`: the schema; names from
`registry`) -> `prepare` (data, model, loss, optimizer, scheduler built once by `build` and
checked by `preflight`) -> `trainer` (train steps plus the end-of-epoch `actions`, into a run
folder of `runs`), or evaluate / predict (`api`, models from checkpoints through `restore`).

Submodules are imported explicitly (`from torchlite.training.config import load_config`) so that
importing this package stays cheap.
"""
