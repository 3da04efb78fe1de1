"""The engine behind the `torchlite` CLI, usable from Python: config loading and validation
(`config`, `loader`, `registry`), metrics, run folders (`runs`), building and training.

Submodules are imported explicitly (`from torchlite.training.config import load_config`) so that
importing this package stays cheap.
"""
