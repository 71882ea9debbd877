"""Plain JSON back into chalkwall's frozen dataclasses, checked against their type hints.

Everything a hub publishes is ``to_dict`` of a frozen dataclass (or plain JSON); a screen turns it
back with :func:`decode`, which follows the dataclass's annotations — nested dataclasses, tuples
(``tuple[X, ...]`` and fixed ``tuple[A, B]``), mappings, ``X | None``, str, int, float, bool — and
refuses anything else with a :class:`DecodeError` naming the path (``progress[3].target``), so a
buggy or rogue publisher costs one log line, never a crash in the display.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


class DecodeError(ValueError):
    """The payload does not have the shape of the type it claims to be."""


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(cls: type[T], data: Any, path: str = "") -> T:
    """``data`` (parsed JSON) as an instance of the dataclass ``cls``."""
    return _value(cls, data, path or cls.__name__)  # type: ignore[no-any-return]


def _value(hint: Any, value: Any, path: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for option in inner:
            try:
                return _value(option, value, path)
            except DecodeError as exc:
                errors.append(str(exc))
        raise DecodeError(errors[0] if len(errors) == 1 else f"{path}: none of {inner} fits")
    if origin is typing.Literal:
        if value in args:
            return value
        raise DecodeError(f"{path}: {value!r} is not one of {args}")
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise DecodeError(f"{path}: expected an object, got {type(value).__name__}")
        fields = {f.name: f for f in dataclasses.fields(hint) if f.init}
        hints = _hints(hint)
        kwargs = {}
        for name, spec in fields.items():
            if name in value:
                kwargs[name] = _value(hints[name], value[name], f"{path}.{name}")
            elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise DecodeError(f"{path}.{name}: missing")
        return hint(**kwargs)
    if origin is tuple:
        if not isinstance(value, list):
            raise DecodeError(f"{path}: expected an array, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise DecodeError(f"{path}: expected {len(args)} items, got {len(value)}")
        return tuple(_value(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, dict):
            raise DecodeError(f"{path}: expected an object, got {type(value).__name__}")
        key_hint, value_hint = args or (str, Any)
        out = {_value(key_hint, k, path): _value(value_hint, v, f"{path}.{k}") for k, v in value.items()}
        return types.MappingProxyType(out)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    else:
        raise DecodeError(f"{path}: cannot decode a {hint!r}")
    raise DecodeError(f"{path}: expected {getattr(hint, '__name__', hint)}, got {type(value).__name__}")
