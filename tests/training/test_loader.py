"""YAML reading with line numbers, duplicate keys, refused tags, and `a.b=c` overrides."""

import math

import pytest
import yaml

from torchlite.training.loader import (
    ConfigError,
    ConfigLoader,
    ConfigProblem,
    SourceMap,
    apply_overrides,
    did_you_mean,
    dump_yaml,
    format_path,
    load_yaml,
    parse_override,
    parse_yaml_value,
)


def one_problem(text: str) -> ConfigProblem:
    with pytest.raises(ConfigError) as info:
        load_yaml(text, "c.yaml")
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


# -- scalars --
@pytest.mark.parametrize(
    "text, expected",
    [
        ("1e-3", 0.001),
        ("1E5", 100000.0),
        (".5e-2", 0.005),
        ("-2.5e+3", -2500.0),
        ("1.", 1.0),
        ("+.5", 0.5),
        ("3", 3),
        ("-7", -7),
        ("1_000", 1000),
        ("0x1f", 31),
        ("0o17", 15),
        ("007", 7),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", None),
        (".inf", math.inf),
        ("-.inf", -math.inf),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("2024-01-01", "2024-01-01"),
        ("1:30", "1:30"),
        ("'1e3'", "1e3"),
        ('"3"', "3"),
        ("1e3", 1000.0),
        ("val/loss", "val/loss"),
        ("!!str 12", "12"),
        ("!!float 2", 2.0),
        ("!!int '12'", 12),
    ],
)
def test_scalars_follow_yaml_12(text, expected):
    value, _ = load_yaml(f"v: {text}\n")
    assert type(value["v"]) is type(expected) and value["v"] == expected


def test_nan_and_exponent_types():
    value, _ = load_yaml("a: .nan\nb: 1e-3\nc: 10\n")
    assert math.isnan(value["a"])
    assert isinstance(value["b"], float) and isinstance(value["c"], int)


def test_line_of_every_key_path():
    text = "a: 1\nb:\n  c: [1, 2]\n  d:\n    - x: 1\n    -\n      y: 2\ne: {f: 3}\n"
    data, source = load_yaml(text, "c.yaml")
    assert data == {"a": 1, "b": {"c": [1, 2], "d": [{"x": 1}, {"y": 2}]}, "e": {"f": 3}}
    lines = source.lines
    assert lines[("a",)] == 1 and lines[("b",)] == 2 and lines[("b", "c")] == 3
    assert lines[("b", "d", 0, "x")] == 5 and lines[("b", "d", 1, "y")] == 7
    assert lines[("e", "f")] == 8
    assert source.locate(("b", "d", 1, "y", "missing")) == ("c.yaml", 7)
    assert str(source.problem(("b", "c", 1), "bad")) == "c.yaml:3: b.c.1: bad"


# -- refused documents --
def test_duplicate_keys_name_both_lines():
    p = one_problem("a: 1\nb:\n  x: 1\n  x: 2\n")
    assert (p.line, p.path) == (4, "b.x")
    assert "duplicate key 'x' (first defined on line 3)" in p.message


def test_all_duplicates_reported():
    with pytest.raises(ConfigError) as info:
        load_yaml("a: 1\na: 2\nb: 1\nb: 2\n", "c.yaml")
    assert [p.line for p in info.value.problems] == [2, 4]
    assert str(info.value).count("\n") == 1


@pytest.mark.parametrize(
    "text, tag",
    [
        ("x: !!python/object/apply:os.system [echo hi]\n", "!!python/object/apply:os.system"),
        ("x: !!python/name:os.system\n", "!!python/name:os.system"),
        ("x: !!python/tuple [1, 2]\n", "!!python/tuple"),
        ("x: !custom 3\n", "!custom"),
        ("x: !!binary aGVsbG8=\n", "!!binary"),
        ("x: !!set {a, b}\n", "!!set"),
        ("x: !!timestamp 2024-01-01\n", "!!timestamp"),
    ],
)
def test_object_tags_refused(text, tag):
    p = one_problem(text)
    assert p.line == 1 and p.path == "x"
    assert f"YAML tag '{tag}' is not allowed" in p.message


def test_loader_class_is_safe_on_its_own():
    loader = ConfigLoader("a: !!python/object/apply:os.system [echo hi]\n")
    with pytest.raises(ConfigError, match="not allowed"):
        loader.get_single_data()
    assert ConfigLoader("a: 1e-3\n").get_single_data() == {"a": 0.001}
    assert issubclass(ConfigLoader, yaml.SafeLoader)


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("a: [1,\n", 2, "invalid YAML"),
        ("a: 1\n b: 2\n", 2, "invalid YAML"),
        ("a:\n\tb: 1\n", 2, "spaces, not tabs"),
        ("a: 1\n---\nb: 2\n", 2, "single document"),
        ("a: 'open\n", 2, "invalid YAML"),
        ("x: !!bool yes\n", 1, "cannot read 'yes' as bool"),
        ("base: &b {a: 1}\nc:\n  <<: *b\n", 3, "merge keys (<<) are not supported"),
        ("? [1, 2]\n: 3\n", 1, "keys must be plain names"),
        ("a: &x [*x]\n", 1, "recursive YAML alias"),
    ],
)
def test_malformed_documents(text, line, fragment):
    p = one_problem(text)
    assert p.line == line and fragment in p.message
    assert str(p).startswith(f"c.yaml:{line}: ")


def test_control_characters_bom_and_crlf():
    p = one_problem("a: 1\nb: x\x00\n")
    assert p.line == 2 and "special characters are not allowed" in p.message
    data, source = load_yaml("\ufeffa: 1\r\nb:\r\n  c: 2\r\n")
    assert data == {"a": 1, "b": {"c": 2}} and source.lines[("b", "c")] == 3


def test_alias_bomb_refused_without_expanding():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    p = one_problem("\n".join(lines) + "\n")
    assert "document too large" in p.message


def test_small_aliases_are_fine():
    data, _ = load_yaml("a: &x {k: 1}\nb: *x\n")
    assert data == {"a": {"k": 1}, "b": {"k": 1}}


def test_empty_document_is_none():
    assert load_yaml("", "c.yaml")[0] is None
    assert load_yaml("# only a comment\n", "c.yaml")[0] is None


def test_numeric_keys_keep_their_text():
    data, _ = load_yaml("1: a\ntrue: b\n")
    assert data == {"1": "a", "true": "b"}


# -- problems and errors --
def test_problem_and_error_format():
    assert str(ConfigProblem("f.yaml", 3, "a.b", "bad")) == "f.yaml:3: a.b: bad"
    assert str(ConfigProblem("f.yaml", None, "a", "bad")) == "f.yaml: a: bad"
    assert str(ConfigProblem(None, None, "", "bad")) == "bad"
    err = ConfigError([ConfigProblem("f", 1, "a", "x"), ConfigProblem("f", 2, "b", "y")])
    assert isinstance(err, ValueError)
    assert str(err) == "f:1: a: x\nf:2: b: y"
    assert ConfigError("plain").problems[0].message == "plain"
    assert format_path(("model", "layers", 0, "type")) == "model.layers.0.type"


@pytest.mark.parametrize(
    "name, choices, expected",
    [
        ("Adamw", ["Adam", "AdamW", "SGD"], "'AdamW'"),
        ("relu", ["ReLU", "ReLU6"], "'ReLU'"),
        ("epoch", ["epochs", "grad_clip"], "'epochs'"),
        ("zzz", ["epochs", "grad_clip"], ""),
    ],
)
def test_did_you_mean(name, choices, expected):
    hint = did_you_mean(name, choices)
    assert (expected in hint) if expected else hint == ""


# -- overrides --
@pytest.mark.parametrize(
    "text, path, value",
    [
        ("optimizer.lr=1e-3", ("optimizer", "lr"), 0.001),
        ("trainer.epochs=3", ("trainer", "epochs"), 3),
        ("model.layers.0.out_features=256", ("model", "layers", 0, "out_features"), 256),
        ("metrics=[accuracy, mse]", ("metrics",), ["accuracy", "mse"]),
        ("loss={type: MSELoss}", ("loss",), {"type": "MSELoss"}),
        ("data.path=", ("data", "path"), None),
        ("name=a=b", ("name",), "a=b"),
        ("device=cuda:0", ("device",), "cuda:0"),
        ("data.shuffle=false", ("data", "shuffle"), False),
        (" seed = 5", ("seed",), 5),
    ],
)
def test_parse_override(text, path, value):
    assert parse_override(text) == (path, value)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("optimizer.lr", "expected KEY.PATH=VALUE"),
        ("=3", "bad key path"),
        ("a..b=1", "bad key path"),
        ("a.b c=1", "bad key path"),
        ("x=[1,", "bad value"),
        ("x=!!python/name:os.system", "not allowed"),
        ("x={a: 1, a: 2}", "duplicate key"),
    ],
)
def test_bad_override_strings(text, fragment):
    with pytest.raises(ConfigError) as info:
        parse_override(text)
    msg = str(info.value)
    assert fragment in msg and msg.startswith(f"override '{text}'")


def test_parse_yaml_value_never_evaluates():
    assert parse_yaml_value("__import__('os')") == "__import__('os')"
    with pytest.raises(ValueError):
        parse_yaml_value("!!python/object/apply:os.system [ls]")


def _base():
    return {
        "optimizer": {"type": "SGD", "lr": 0.1},
        "scheduler": None,
        "model": {"layers": [{"type": "Linear"}, {"type": "ReLU"}]},
    }


def test_apply_overrides_sets_creates_and_records():
    data, source = _base(), SourceMap("c.yaml", {("optimizer",): 1})
    apply_overrides(
        data,
        [
            "optimizer.lr=0.01",
            "model.layers.1.inplace=true",
            "scheduler.type=StepLR",
            "trainer.early_stopping.patience=3",
        ],
        source,
    )
    assert data["optimizer"]["lr"] == 0.01
    assert data["model"]["layers"][1] == {"type": "ReLU", "inplace": True}
    assert data["scheduler"] == {"type": "StepLR"}
    assert data["trainer"] == {"early_stopping": {"patience": 3}}
    assert source.locate(("optimizer", "lr")) == ("override 'optimizer.lr=0.01'", None)
    assert source.locate(("trainer",))[0] == "override 'trainer.early_stopping.patience=3'"
    assert source.locate(("optimizer", "type")) == ("c.yaml", 1)


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("model.layers.2.p=0.5", "index 2 out of range: model.layers has 2 items (indices 0..1)"),
        ("model.layers.x.p=0.5", "model.layers is a list: use an index 0..1, not 'x'"),
        ("optimizer.lr.x=1", "optimizer.lr is a value (0.1), not a section"),
        ("model.layers.0.type.x=1", "model.layers.0.type is a value ('Linear')"),
    ],
)
def test_apply_overrides_bad_paths(override, fragment):
    with pytest.raises(ConfigError) as info:
        apply_overrides(_base(), [override])
    assert fragment in str(info.value)


def test_apply_overrides_collects_every_problem():
    with pytest.raises(ConfigError) as info:
        apply_overrides(_base(), ["model.layers.9.p=1", "nonsense", "optimizer.lr=2"])
    assert len(info.value.problems) == 2


def test_dump_yaml_round_trips():
    data = {
        "name": "x",
        "lr": 1e-5,
        "big": 1e20,
        "n": 3,
        "flags": [True, None],
        "nested": {"s": "yes", "t": "1e3", "u": "null"},
    }
    back, _ = load_yaml(dump_yaml(data))
    assert back == data
