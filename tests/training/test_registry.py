"""The name tables: every name of the nn/optim issues, did-you-mean, lazy imports."""

import json

import pytest

from torchlite.training import registry

# -- registry --
ISSUE_LAYERS = (
    "Identity Flatten Unflatten Linear Bilinear Dropout Dropout1d Dropout2d BatchNorm1d "
    "BatchNorm2d LayerNorm GroupNorm InstanceNorm2d Embedding ReLU ReLU6 LeakyReLU PReLU ELU SELU "
    "CELU GELU SiLU Mish Sigmoid Tanh Softplus Softsign Hardtanh Hardsigmoid Hardswish Softmax "
    "LogSoftmax Threshold Conv1d Conv2d ConvTranspose2d MaxPool1d MaxPool2d AvgPool1d AvgPool2d "
    "AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool2d Upsample RNN LSTM GRU RNNCell "
    "LSTMCell GRUCell MultiheadAttention TransformerEncoderLayer"
).split()
ISSUE_LOSSES = (
    "MSELoss L1Loss SmoothL1Loss HuberLoss CrossEntropyLoss NLLLoss BCELoss "
    "BCEWithLogitsLoss KLDivLoss"
).split()
ISSUE_OPTIMIZERS = (
    "SGD Adam AdamW Adagrad RMSprop Adadelta Adamax NAdam RAdam SparseAdam ASGD Rprop LBFGS"
).split()
ISSUE_SCHEDULERS = (
    "StepLR MultiStepLR ExponentialLR ConstantLR LinearLR PolynomialLR "
    "CosineAnnealingLR CosineAnnealingWarmRestarts CyclicLR OneCycleLR "
    "SequentialLR ChainedScheduler ReduceLROnPlateau"
).split()


def test_tables_hold_every_name_of_the_issues():
    assert set(ISSUE_LAYERS) <= set(registry.LAYERS)
    assert set(ISSUE_LOSSES) <= set(registry.LOSSES)
    assert set(ISSUE_OPTIMIZERS) == set(registry.OPTIMIZERS)
    assert set(ISSUE_SCHEDULERS) == set(registry.SCHEDULERS)
    assert set(registry.DATASETS) == {
        "digits",
        "mnist",
        "fashion_mnist",
        "npz",
        "npy",
        "csv",
        "blobs",
        "moons",
        "spirals",
        "tokens",
        "regression",
    }
    assert set(registry.MODELS) == {"mlp", "lenet5", "resnet"}
    assert set(registry.ACTIVATIONS) <= set(registry.LAYERS)
    for table in (registry.LAYERS, registry.LOSSES, registry.OPTIMIZERS, registry.SCHEDULERS):
        assert all(":" in target for target in table.values())


def test_check_name_and_messages():
    assert registry.check_name("optimizer", "SGD") == "SGD"
    with pytest.raises(ValueError, match="did you mean 'AdamW'"):
        registry.check_name("optimizer", "adamw")
    with pytest.raises(ValueError, match="'CrossEntropyLoss' is a loss, not a layer"):
        registry.check_name("layer", "CrossEntropyLoss")
    assert "expected one of" in registry.unknown_name_message("model", "transformer")
    assert "LambdaLR needs a Python function" in registry.unknown_name_message(
        "scheduler", "LambdaLR"
    )


@pytest.mark.parametrize("kind", ["metric", "dataset"])
def test_registered_targets_import(kind):
    for name in registry.names(kind):
        assert callable(registry.resolve(kind, name)), name


def test_import_object_from_file_and_module(tmp_path):
    (tmp_path / "mod_a.py").write_text("class Net:\n    pass\n\nVALUE = 3\n")
    net = registry.import_object("mod_a.py:Net", base_dir=tmp_path)
    assert net.__name__ == "Net"
    assert registry.import_object(f"{tmp_path / 'mod_a.py'}:VALUE") == 3
    assert registry.import_object("json:dumps") is json.dumps
    with pytest.raises(registry.RegistryError, match="did you mean 'Net'"):
        registry.import_object("mod_a.py:Nett", base_dir=tmp_path)
    with pytest.raises(registry.RegistryError, match="model file not found"):
        registry.import_object("missing.py:Net", base_dir=tmp_path)
    with pytest.raises(registry.RegistryError, match="must look like"):
        registry.import_object("no_colon")
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(registry.RegistryError, match="RuntimeError: boom"):
        registry.import_object("broken.py:X", base_dir=tmp_path)


@pytest.mark.parametrize("kind", ["layer", "loss", "optimizer", "scheduler", "model"])
def test_registered_classes_import(kind):
    """Every name a config may use exists in torchlite (a missing one is a registry bug)."""
    missing = []
    for name in registry.names(kind):
        try:
            obj = registry.resolve(kind, name)
        except registry.RegistryError as exc:
            missing.append(f"{name}: {exc}")
            continue
        assert callable(obj), name
    assert not missing, "\n".join(missing)
