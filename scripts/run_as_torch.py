"""Run a PyTorch program on torchlite: `python scripts/run_as_torch.py prog.py [args...]`.

`import torch` (and `torch.nn`, `torch.nn.functional`, `torch.optim`, `torch.utils.data`, ...)
resolve to torchlite's modules of the same path, so a program written for PyTorch runs with no
change. `--torch` runs the real PyTorch instead, for comparing the printed output.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import runpy
import sys


class _TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `torch` and `torch.<sub>` as the modules `torchlite` and `torchlite.<sub>`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = "torchlite" + fullname[len("torch"):]
        try:
            if importlib.util.find_spec(real) is None:
                return None
        except ModuleNotFoundError:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module("torchlite" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass  # the torchlite module ran its own code when it was imported


def install() -> None:
    """Make `import torch` give torchlite from now on in this process."""
    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _TorchAlias())


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--torch":
        argv = argv[1:]
    else:
        install()
    if not argv:
        raise SystemExit("usage: run_as_torch.py [--torch] program.py [args...]")
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
