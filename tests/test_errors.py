"""torchlite.errors: each class's exit code and built-in bases, and the old import paths."""

from __future__ import annotations

import importlib
import inspect

import pytest

from torchlite import errors as E

# class -> (exit code, the built-in types a PyTorch user catches it as)
EXPECTED = {
    E.ConfigError: (2, (ValueError,)),
    E.UsageError: (2, (ValueError,)),
    E.UntrustedModelCodeError: (2, (ValueError,)),
    E.RegistryError: (2, (ImportError,)),
    E.DeviceUnavailableError: (2, (RuntimeError,)),
    E.DataError: (3, (ValueError,)),
    E.DatasetError: (3, (ValueError,)),
    E.DatasetNotFoundError: (3, (ValueError, FileNotFoundError)),
    E.MissingArrayError: (3, (ValueError,)),
    E.CheckpointError: (3, (ValueError,)),
    E.UserModelError: (3, (ValueError,)),
    E.InputNotFoundError: (3, (FileNotFoundError,)),
    E.CheckpointNotFoundError: (3, (FileNotFoundError,)),
    E.OutOfMemoryError: (1, (RuntimeError,)),
    E.TrainingDiverged: (4, (RuntimeError,)),
    E.TrainingInterrupted: (130, ()),
    E.GradcheckError: (1, (RuntimeError,)),
    E.BenchmarkError: (1, (RuntimeError,)),
}

# where each class was defined before torchlite.errors; callers import it from there
OLD_HOMES = {
    "torchlite.training.loader": ["ConfigError", "ConfigProblem", "UsageError"],
    "torchlite.training.restore": ["UserModelError", "UntrustedModelCodeError"],
    "torchlite.training.runs": ["CheckpointNotFoundError"],
    "torchlite.training.registry": ["RegistryError"],
    "torchlite.training.trainer": ["TrainingDiverged", "TrainingInterrupted"],
    "torchlite.serialization": ["CheckpointError"],
    "torchlite.datasets": ["DatasetError", "DatasetNotFoundError", "MissingArrayError"],
    "torchlite.datasets.errors": ["DatasetError", "DatasetNotFoundError", "MissingArrayError"],
    "torchlite.backend": ["OutOfMemoryError"],
    "torchlite._cuda_memory": ["OutOfMemoryError"],
    "torchlite.cuda": ["OutOfMemoryError"],
    "torchlite": ["OutOfMemoryError"],
    "torchlite.autograd.gradcheck": ["GradcheckError"],
    "torchlite.benchmark": ["BenchmarkError"],
}


def _make(cls, message: str):
    if cls is E.MissingArrayError:
        return cls(message, path="d.npz", role="inputs", key="x", keys=["a"])
    return cls(message)


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
def test_exit_code_and_builtin_bases(cls):
    code, builtins = EXPECTED[cls]
    assert issubclass(cls, E.TorchliteError) and cls.exit_code == code
    exc = _make(cls, "what went wrong")
    assert exc.exit_code == code and str(exc) == "what went wrong"
    for base in builtins:
        assert isinstance(exc, base)
        with pytest.raises(base):  # `except ValueError:` and the like keep catching it
            raise exc


def test_every_exception_class_is_listed_here():
    classes = {c for _, c in inspect.getmembers(E, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == E.__name__}
    families = {E.TorchliteError, E.BadUsageError, E.BadInputError, E.MachineError}
    assert classes - families == set(EXPECTED)


def test_families_give_their_exit_code_to_their_members():
    assert E.TorchliteError.exit_code == E.INTERNAL == 1
    assert E.BadUsageError.exit_code == E.USAGE == 2
    assert E.BadInputError.exit_code == E.BAD_DATA == 3
    assert E.MachineError.exit_code == E.INTERNAL
    for cls, (code, _) in EXPECTED.items():
        for family in (E.BadUsageError, E.BadInputError, E.MachineError):
            if issubclass(cls, family):
                assert code == family.exit_code, cls


def test_a_bug_is_not_in_the_hierarchy():
    """The CLI treats these as internal errors: the families add no built-in base of their own."""
    for family in (E.TorchliteError, E.BadUsageError, E.BadInputError, E.MachineError):
        assert not issubclass(family, (ValueError, RuntimeError, OSError, ImportError))
    assert not isinstance(ValueError("x"), E.TorchliteError)


def test_a_data_error_is_not_a_file_error_and_the_other_way_round():
    """The built-in bases stay as they were: a CheckpointError is no OSError (the CLI's
    'cannot read PATH' logic is for those) and a missing checkpoint is no ValueError."""
    assert not issubclass(E.CheckpointError, OSError)
    assert not issubclass(E.CheckpointNotFoundError, ValueError)
    assert not issubclass(E.RegistryError, ValueError)  # config validation catches ValueError
    assert not issubclass(E.ConfigError, E.UsageError) and not issubclass(E.UsageError,
                                                                            E.ConfigError)


@pytest.mark.parametrize("module", list(OLD_HOMES))
def test_old_import_paths_give_the_same_classes(module):
    mod = importlib.import_module(module)
    for name in OLD_HOMES[module]:
        assert getattr(mod, name) is getattr(E, name), f"{module}.{name}"


def test_config_error_lists_its_problems():
    exc = E.ConfigError([E.ConfigProblem("c.yaml", 3, "model.type", "unknown"), "plain text"])
    assert [str(p) for p in exc.problems] == ["c.yaml:3: model.type: unknown", "plain text"]
    assert str(exc) == "c.yaml:3: model.type: unknown\nplain text"
