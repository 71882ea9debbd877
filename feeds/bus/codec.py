"""Plain JSON back into chalkwall's frozen dataclasses, checked against their type hints.

Everything a hub publishes is ``to_dict`` of a frozen dataclass (or plain JSON); a screen turns it
back with :func:`decode`, which follows the dataclass's annotations — nested dataclasses, tuples
(``tuple[X, ...]`` and fixed ``tuple[A, B]``), mappings, ``X | None``, str, int, float, bool — and
refuses anything else with a :class:`DecodeError` naming the path (``progress[3].target``), so a
buggy or rogue publisher costs one log line, never a crash in the display.

A screen decodes ten thousand progress entries when it shows every team, so :func:`decode` first
lets msgspec do the work in C: the data is checked against a mirror of the type whose floats must
be finite (the one rule msgspec lacks), then converted. Anything the fast path refuses, or a type it
cannot mirror, goes the Python way below, which accepts or refuses it and words the refusal exactly
as before (``tests/test_bus_codec.py`` compares both ways over random damage).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, TypeVar

import msgspec

T = TypeVar("T")


class DecodeError(ValueError):
    """The payload does not have the shape of the type it claims to be."""


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(cls: type[T], data: Any, path: str = "") -> T:
    """``data`` (parsed JSON) as an instance of the dataclass ``cls``."""
    fast = _fast(cls, data)
    if fast is not None:
        return fast
    return _value(cls, data, path or cls.__name__)  # type: ignore[no-any-return]


def slow_decode(cls: type[T], data: Any, path: str = "") -> T:
    """:func:`decode` without its fast path (for the tests that hold the two side by side)."""
    return _value(cls, data, path or cls.__name__)  # type: ignore[no-any-return]


_FINITE = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]


class _Unsupported(TypeError):
    """A type the fast path does not mirror: such data always goes the Python way."""


def _fast(cls: type[T], data: Any) -> T | None:
    try:
        checker, mappings = _checker(cls), _mappings(cls)
        msgspec.convert(data, checker)  # every rule of _value's, floats finite included
        out = msgspec.convert(data, cls)
    except (msgspec.ValidationError, TypeError):
        return None
    if mappings:  # _value's mappings are read-only views; msgspec's are dicts
        out = dataclasses.replace(out, **{name: types.MappingProxyType(getattr(out, name)) for name in mappings
                                          if type(getattr(out, name)) is dict})  # type: ignore[type-var]
        # (a field the data left out has its default, already read-only: not wrapped twice)
    return out


@cache
def _checker(hint: Any) -> Any:
    """``hint`` as msgspec checks it the way :func:`_value` does: dataclasses as Structs whose
    floats must be finite (raises _Unsupported for what _value would not take either)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is float:
        return _FINITE
    if hint in (str, int, bool, type(None)) or hint is Any or origin is typing.Literal:
        return hint
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_checker(a) for a in args)]
    if dataclasses.is_dataclass(hint):
        hints, fields = _hints(hint), []
        for f in dataclasses.fields(hint):
            if not f.init:
                continue
            if f.default is not dataclasses.MISSING:
                fields.append((f.name, _checker(hints[f.name]), None))  # only checked: any default will do
            elif f.default_factory is not dataclasses.MISSING:
                fields.append((f.name, _checker(hints[f.name]), None))
            else:
                fields.append((f.name, _checker(hints[f.name])))
        return msgspec.defstruct(f"Checked{hint.__name__}", fields, kw_only=True)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple[_checker(args[0]), ...]  # type: ignore[misc]
        return tuple[tuple(_checker(a) for a in args)]  # type: ignore[misc]
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        key, value = args or (str, Any)
        return dict[_checker(key), _checker(value)]  # type: ignore[misc]
    raise _Unsupported(f"no fast path for {hint!r}")


@cache
def _mappings(cls: type[Any]) -> tuple[str, ...]:
    """The fields of ``cls`` that decode as mappings (made read-only after msgspec's convert);
    _Unsupported when a mapping hides deeper, where the fast path would leave a dict."""
    out = []
    for name, hint in _hints(cls).items():
        if _is_mapping(hint) or any(_is_mapping(a) for a in typing.get_args(hint)
                                    if typing.get_origin(hint) in (typing.Union, types.UnionType)):
            out.append(name)
        elif _holds_mapping(hint):
            raise _Unsupported(f"{cls.__name__}.{name} holds a mapping deeper down")
    return tuple(out)


def _is_mapping(hint: Any) -> bool:
    return typing.get_origin(hint) in (dict, Mapping) or hint in (dict, Mapping)


def _holds_mapping(hint: Any) -> bool:
    if _is_mapping(hint):
        return True
    if dataclasses.is_dataclass(hint):
        return any(_holds_mapping(h) for h in _hints(hint).values())  # type: ignore[arg-type]
    return any(_holds_mapping(a) for a in typing.get_args(hint) if a is not Ellipsis)


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
