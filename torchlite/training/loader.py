"""Reading YAML config files safely, with the line of every key, and `a.b=c` overrides.

The loader is a `yaml.SafeLoader` subclass with YAML 1.2-style scalars: `1e-3`, `1E5` and `.5e-2`
are floats (PyYAML's 1.1 resolver reads them as strings), `yes`/`no`/`on`/`off` stay strings, and
dates and `1:30` are not converted. Duplicate keys, merge keys (`<<`) and tags that build objects
(`!!python/...`, `!!binary`, `!custom`, ...) are refused. Every problem is reported as
`file:line: key.path: message` through `ConfigError`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from torchlite.errors import ConfigError, ConfigProblem
from torchlite.errors import UsageError as UsageError  # imported from here by callers

__all__ = [
    "ConfigError",
    "ConfigLoader",
    "ConfigProblem",
    "SourceMap",
    "apply_overrides",
    "did_you_mean",
    "dump_yaml",
    "format_path",
    "load_yaml",
    "parse_override",
    "parse_yaml_value",
]

KeyPath = tuple  # tuple[str | int, ...]
MAX_NODES = 100_000  # after alias expansion: stops "billion laughs" documents
MAX_BYTES = 1024 * 1024  # a config is a page of settings; the examples are under 2 KB
_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}


def format_path(path: KeyPath) -> str:
    """`("model", "layers", 0, "type")` -> `"model.layers.0.type"`."""
    return ".".join(str(p) for p in path)


def did_you_mean(name: str, choices, n: int = 1) -> str:
    """`"; did you mean 'Linear'?"` for the closest choice (case-insensitive first), or `""`."""
    if len(str(name)) > 100:  # no name is that long; difflib on it would take seconds
        return ""
    choices = [str(c) for c in choices]
    lower = {c.lower(): c for c in choices}
    if str(name).lower() in lower:
        return f"; did you mean '{lower[str(name).lower()]}'?"
    close = difflib.get_close_matches(str(name), choices, n=n, cutoff=0.6)
    if not close:
        close = [lower[c] for c in difflib.get_close_matches(str(name).lower(), list(lower), n=n)]
    if not close and len(str(name)) >= 3:  # a prefix: "Cosine" -> "CosineAnnealingLR"
        close = [c for c in choices if c.lower().startswith(str(name).lower())][:n]
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


@dataclass
class SourceMap:
    """Where each key path of a config came from: a line of a file, or a command-line override."""

    file: str | None = None
    lines: dict = field(default_factory=dict)  # key path tuple -> 1-based line
    overrides: dict = field(default_factory=dict)  # key path tuple -> override text

    def locate(self, path: KeyPath) -> tuple[str | None, int | None]:
        """(file, line) of the deepest known prefix of `path` (an override wins at equal depth)."""
        path = tuple(path)
        if path and path not in self.lines:  # a key that only an override created
            for opath, text in self.overrides.items():
                if opath[: len(path)] == path:
                    return f"override '{text}'", None
        for i in range(len(path), -1, -1):
            prefix = path[:i]
            if prefix in self.overrides:
                return f"override '{self.overrides[prefix]}'", None
            if prefix in self.lines:
                return self.file, self.lines[prefix]
        return self.file, None

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        """A `ConfigProblem` at `path`, located in the file or override it came from."""
        file, line = self.locate(path)
        return ConfigProblem(file, line, format_path(path), message)


_INT = re.compile(r"^(?:[-+]?[0-9]+(?:_[0-9]+)*|0x[0-9a-fA-F]+|0o[0-7]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class ConfigLoader(yaml.SafeLoader):
    """Safe YAML loader for configs. `ConfigLoader(text, filename).load()` -> (data, SourceMap)."""

    yaml_implicit_resolvers: dict = {}  # start empty: YAML 1.2 core scalars only, added below

    def __init__(self, stream, filename: str | None = None):
        super().__init__(stream)
        self.filename = filename
        self.problems: list[ConfigProblem] = []
        self.source = SourceMap(filename)

    # -- scalars ---------------------------------------------------------------------------
    def construct_yaml_int(self, node):
        text = self.construct_scalar(node).replace("_", "")
        if text[:2] in ("0x", "0o"):
            return int(text[2:], 16 if text[1] == "x" else 8)
        return int(text)

    def construct_yaml_float(self, node):
        text = self.construct_scalar(node).lower()
        if text.lstrip("+-") == ".inf":
            return float("-inf") if text.startswith("-") else float("inf")
        return float("nan") if text == ".nan" else float(text)

    def construct_yaml_bool(self, node):
        text = self.construct_scalar(node).lower()
        if text not in ("true", "false"):
            raise ValueError(f"'{text}' is not true or false")
        return text == "true"

    # -- document --------------------------------------------------------------------------
    def get_single_data(self):
        data, _ = self.load()
        return data

    def load(self) -> tuple[Any, SourceMap]:
        """Parse the single document; raise ConfigError listing every problem found."""
        try:
            node = self.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise ConfigError([self._yaml_problem(exc)]) from None
        except yaml.YAMLError as exc:  # unmarked reader errors
            problem = ConfigProblem(self.filename, None, "", f"invalid YAML: {exc}")
            raise ConfigError([problem]) from None
        except RecursionError:  # [[[[...]]]] thousands deep: parsing recurses once a level
            raise ConfigError([_too_deep(self.filename)]) from None
        if node is None:
            return None, self.source
        try:
            _count_nodes(node, {}, set())
            data = self._build(node, ())
        except _TooBig as exc:
            raise ConfigError([ConfigProblem(self.filename, exc.line, "", str(exc))]) from None
        except RecursionError:
            raise ConfigError([_too_deep(self.filename)]) from None
        if self.problems:
            raise ConfigError(self.problems)
        return data, self.source

    def _yaml_problem(self, exc: yaml.MarkedYAMLError) -> ConfigProblem:
        mark = exc.problem_mark or exc.context_mark
        msg = " ".join(x for x in (exc.context, exc.problem) if x) or "syntax error"
        if "\\t" in msg or "'\t'" in msg:
            msg += " (indent with spaces, not tabs)"
        if mark is not None:
            msg += f" (column {mark.column + 1})"
            return ConfigProblem(self.filename, mark.line + 1, "", f"invalid YAML: {msg}")
        return ConfigProblem(self.filename, None, "", f"invalid YAML: {msg}")

    def _fail(self, node: Node, path: KeyPath, message: str) -> None:
        self.problems.append(
            ConfigProblem(self.filename, node.start_mark.line + 1, format_path(path), message)
        )

    def _build(self, node: Node, path: KeyPath) -> Any:
        self.source.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _ALLOWED_TAGS:
            tag = node.tag.replace(_CORE, "!!")
            self._fail(
                node,
                path,
                f"YAML tag '{tag}' is not allowed: tags that build objects are refused; "
                "write plain values (numbers, strings, lists, mappings)",
            )
            return None
        if isinstance(node, ScalarNode):
            try:
                return self.construct_object(node)
            except (ValueError, yaml.YAMLError) as exc:
                tag = node.tag[len(_CORE):]
                self._fail(node, path, f"cannot read {node.value!r} as {tag}: {exc}")
                return None
        if isinstance(node, SequenceNode):
            return [self._build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        out: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _CORE + "merge" or (
                isinstance(key_node, ScalarNode) and key_node.value == "<<" and not key_node.style
            ):
                self._fail(key_node, path, "merge keys (<<) are not supported; repeat the keys")
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _ALLOWED_TAGS:
                self._fail(key_node, path, "keys must be plain names, not lists, mappings or tags")
                continue
            key = self.construct_object(key_node)
            if not isinstance(key, str):
                key = key_node.value  # `1: x` or `true: x`: keep the text the user wrote
            if key in first_line:
                self._fail(
                    key_node,
                    (*path, key),
                    f"duplicate key '{key}' (first defined on line {first_line[key]})",
                )
                continue
            first_line[key] = line
            self.source.lines[(*path, key)] = line
            out[key] = self._build(value_node, (*path, key))
        return out


class _TooBig(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _count_nodes(node: Node, memo: dict, active: set) -> int:
    """Size after alias expansion, without expanding (memoised); refuses recursive aliases."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise _TooBig("recursive YAML alias is not allowed", node.start_mark.line + 1)
    active.add(key)
    total = 1
    if isinstance(node, SequenceNode):
        total += sum(_count_nodes(n, memo, active) for n in node.value)
    elif isinstance(node, MappingNode):
        total += sum(_count_nodes(k, memo, active) + _count_nodes(v, memo, active)
                     for k, v in node.value)
    active.discard(key)
    if total > MAX_NODES:
        raise _TooBig(f"document too large: more than {MAX_NODES} values after expanding aliases")
    memo[key] = total
    return total


class _Dumper(yaml.SafeDumper):
    """Quotes exactly the strings that ConfigLoader would read as something else ("1e3")."""

    yaml_implicit_resolvers: dict = {}


for _tag, _regex, _first in (
    ("bool", _BOOL, list("tTfF")),
    ("null", _NULL, ["~", "n", "N", ""]),
    ("int", _INT, list("-+0123456789")),
    ("float", _FLOAT, list("-+0123456789.")),
):
    ConfigLoader.add_implicit_resolver(_CORE + _tag, _regex, _first)
    _Dumper.add_implicit_resolver(_CORE + _tag, _regex, _first)
ConfigLoader.add_constructor(_CORE + "int", ConfigLoader.construct_yaml_int)
ConfigLoader.add_constructor(_CORE + "float", ConfigLoader.construct_yaml_float)
ConfigLoader.add_constructor(_CORE + "bool", ConfigLoader.construct_yaml_bool)


def _too_deep(filename: str | None) -> ConfigProblem:
    return ConfigProblem(filename, None, "", "nested too deeply to be a config (lists or "
                         "mappings inside each other hundreds of levels deep)")


def load_yaml(text: str, filename: str | None = None) -> tuple[Any, SourceMap]:
    """Parse YAML text into plain Python values and the line of every key path."""
    if len(text) > MAX_BYTES:
        raise ConfigError([ConfigProblem(filename, None, "", f"file too large for a config "
                                         f"({len(text):,} characters; at most {MAX_BYTES:,})")])
    try:
        loader = ConfigLoader(text, filename)
    except yaml.reader.ReaderError as exc:  # checked on construction: control characters
        line = text[: exc.position].count("\n") + 1
        problem = ConfigProblem(filename, line, "", f"invalid YAML: {exc.reason} "
                                f"(character {exc.character!r})")
        raise ConfigError([problem]) from None
    try:
        return loader.load()
    finally:
        loader.dispose()


def parse_yaml_value(text: str) -> Any:
    """Parse one override value as a YAML scalar or flow collection (`3`, `1e-3`, `[1, 2]`)."""
    try:
        value, _ = load_yaml(text)
    except ConfigError as exc:
        raise ValueError("; ".join(p.message for p in exc.problems)) from None
    return value


def dump_yaml(data: Any) -> str:
    """YAML text for plain data, keys in insertion order, readable back by `load_yaml`."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None,
                     allow_unicode=True)


_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


def parse_override(text: str) -> tuple[KeyPath, Any]:
    """`"model.layers.0.out_features=256"` -> (("model", "layers", 0, "out_features"), 256)."""
    if "=" not in text:
        raise ConfigError([ConfigProblem(
            f"override '{text}'", None, "", "expected KEY.PATH=VALUE, e.g. optimizer.lr=0.01")])
    key, _, value_text = text.partition("=")
    key = key.strip()
    segments = key.split(".")
    if not key or not all(_SEGMENT.match(s) for s in segments):
        raise ConfigError([ConfigProblem(
            f"override '{text}'", None, key,
            "bad key path: use dot-separated names and list indices, e.g. model.layers.0.p")])
    path = tuple(int(s) if s.isdigit() else s for s in segments)
    try:
        value = parse_yaml_value(value_text)
    except ValueError as exc:
        raise ConfigError([ConfigProblem(
            f"override '{text}'", None, key, f"bad value {value_text!r}: {exc}")]) from None
    return path, value


def apply_overrides(data: dict, overrides, source: SourceMap | None = None) -> dict:
    """Set each `a.b=c` override in `data` (in place) and record its origin in `source`.

    Missing mapping keys (and `null` sections) are created, so the schema decides whether a new
    key is allowed (with a did-you-mean). List indices must exist. All problems are collected.
    """
    source = source if source is not None else SourceMap()
    problems: list[ConfigProblem] = []
    for text in overrides:
        try:
            path, value = parse_override(text)
            _set_path(data, path, value, text)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        for old in [p for p in source.lines if p[: len(path)] == path]:
            del source.lines[old]  # the file's lines no longer describe what is there
        source.overrides[path] = text
    if problems:
        raise ConfigError(problems)
    return data


def _set_path(data: dict, path: KeyPath, value: Any, text: str) -> None:
    origin = f"override '{text}'"
    cur: Any = data
    for depth, seg in enumerate(path):
        here = format_path(path[:depth]) or "the config"
        last = depth == len(path) - 1
        if isinstance(cur, list):
            if not isinstance(seg, int):
                raise ConfigError([ConfigProblem(
                    origin, None, format_path(path[: depth + 1]),
                    f"{here} is a list: use an index 0..{len(cur) - 1}, not '{seg}'")])
            if seg >= len(cur):
                span = f"indices 0..{len(cur) - 1}" if cur else "no items"
                raise ConfigError([ConfigProblem(
                    origin, None, format_path(path[: depth + 1]),
                    f"index {seg} out of range: {here} has {len(cur)} items ({span})")])
        elif isinstance(cur, dict):
            seg = str(seg)
        else:
            raise ConfigError([ConfigProblem(
                origin, None, format_path(path[: depth + 1]),
                f"{here} is a value ({cur!r}), not a section; cannot set '{seg}' inside it")])
        if last:
            cur[seg] = value
            return
        if isinstance(cur, dict) and cur.get(seg) is None:
            cur[seg] = {}
        cur = cur[seg]
