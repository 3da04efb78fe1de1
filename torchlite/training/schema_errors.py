"""Turning pydantic's validation errors into `file:line: key.path: message` problems.

Pydantic locates an error by a `loc` tuple that also holds discriminated-union tags (`model`,
`mlp`, `hidden`); the key path is recovered by walking the raw data, and the allowed keys (for a
did-you-mean) by walking the schema's types along the same `loc`.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .loader import ConfigProblem, SourceMap, did_you_mean

__all__ = ["validation_problems"]


def validation_problems(exc: ValidationError, data: Any, source: SourceMap,
                        root: type[BaseModel]) -> list[ConfigProblem]:
    """One ConfigProblem per pydantic error, located through `source`, duplicates removed."""
    problems: list[ConfigProblem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "type")
        elif err["type"] == "bad_argument":  # the key of one argument, or a path into nested
            key = err["ctx"]["key"]             # specs (scheduler.schedulers.0.step_size)
            loc = (*loc, *key) if isinstance(key, (tuple, list)) else (*loc, key)
        path = _data_path(data, loc, err["type"])
        problem = source.problem(path, _message(err, loc, root))
        if problem not in problems:
            problems.append(problem)
    return problems


def _data_path(data: Any, loc: tuple, err_type: str) -> tuple:
    """The key path in `data` that `loc` points at (union tags and validator names skipped)."""
    path: list = []
    cur = data
    for i, el in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and isinstance(el, str) and el in cur:
            path.append(el)
            cur = cur[el]
        elif isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            path.append(el)
            cur = cur[el]
        elif last and err_type in ("missing", "union_tag_not_found") and isinstance(cur, dict):
            path.append(el)  # a missing key: located at its parent's line
    return tuple(path)


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _step(tp: Any, el: Any) -> Any:
    tp = _unwrap(tp)
    if _is_model(tp):
        field = tp.model_fields.get(el) if isinstance(el, str) else None
        return field.annotation if field is not None else None
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        for member in map(_unwrap, get_args(tp)):
            if _is_model(member) and "type" in member.model_fields:
                if el in get_args(_unwrap(member.model_fields["type"].annotation)):
                    return member
        return None
    if origin is list:
        return get_args(tp)[0] if isinstance(el, int) else None
    if origin is dict:
        return get_args(tp)[1]
    return None


def _type_at(root: type[BaseModel], loc: tuple) -> Any:
    tp: Any = root
    for el in loc:
        tp = _step(tp, el)
        if tp is None:
            return None
    return _unwrap(tp)


def _union_tags(root: type[BaseModel], loc: tuple) -> list[str]:
    tp = _unwrap(_type_at(root, loc[:-1]) or object)
    tags: list[str] = []
    if get_origin(tp) in (Union, types.UnionType):
        for member in map(_unwrap, get_args(tp)):
            if _is_model(member) and "type" in member.model_fields:
                tags += [str(a) for a in get_args(_unwrap(member.model_fields["type"].annotation))]
    return tags


_EXPECTED = {
    "int_parsing": "an integer", "int_from_float": "an integer", "int_type": "an integer",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "a string", "list_type": "a list",
    "dict_type": "a mapping", "finite_number": "a finite number",
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: dict, loc: tuple, root: type[BaseModel]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    key = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        parent = _type_at(root, loc[:-1])
        fields = list(parent.model_fields) if _is_model(parent) else []
        hint = did_you_mean(str(key), fields)
        if not hint and fields:
            hint = f" (allowed: {', '.join(fields)})"
        return f"unknown key '{key}'{hint}"
    if kind == "missing":
        return f"missing required key '{key}'"
    if kind in ("unknown_name", "bad_device", "bad_name", "bad_target", "bad_argument"):
        return str(ctx.get("message", err["msg"]))
    if kind == "union_tag_not_found":
        return f"missing 'type': one of {', '.join(_union_tags(root, loc))}"
    if kind == "union_tag_invalid":
        tags = _union_tags(root, loc)
        tag = ctx.get("tag")
        hint = did_you_mean(str(tag), tags)
        return f"unknown type {tag!r}{hint} (expected one of: {', '.join(tags)})"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "literal_error":
        tp = _type_at(root, loc)
        options = [str(a) for a in get_args(tp)] if get_origin(tp) is Literal else []
        hint = did_you_mean(str(err.get("input")), options) if options else ""
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got " \
               f"{_short(err.get('input'))}{hint}"
    if kind in _EXPECTED and "input" in err:
        return f"expected {_EXPECTED[kind]}, got {_short(err['input'])}"
    msg = err["msg"]
    msg = msg[:1].lower() + msg[1:]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of keys, got {type(err.get('input')).__name__} " \
               f"{_short(err.get('input'))}"
    if "input" in err and not isinstance(err["input"], (dict, list)):
        msg += f", got {_short(err['input'])}"
    return msg
