"""Typed loading of TOML tables into frozen dataclasses, reporting every problem at once.

Config and themes are both read with :class:`Reader`: it walks a dataclass's type hints, converts
and checks each value, and records a :class:`Problem` (file, dotted key, message) for everything
wrong instead of stopping at the first. Unknown keys are problems too, with a "did you mean".
Field metadata adds bounds and custom checks (``check`` on the value, ``each`` on every value of
a table or array and ``keys`` on every key of a table, each problem under its own key)::

    interval: float = field(default=15.0, metadata={"min": 0.5})

A dataclass may define ``check(self, reader, key)`` for rules that span several fields.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, at a dotted key path (empty for the file as a whole)."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}" if self.key else f"{self.file}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found in a config or theme file."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def empty_mapping() -> Mapping[str, Any]:
    """A read-only empty table: the default of a frozen dataclass's mapping field."""
    return types.MappingProxyType({})


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice ``word`` is most likely a misspelling of (the same but for case first), or None."""
    choices = list(choices)
    folded = {c.casefold(): c for c in choices}
    if word.casefold() in folded:
        return folded[word.casefold()]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """A ' (did you mean "x"?)' suffix for the closest choice, or '' when none is close."""
    found = closest(word, choices, cutoff)
    return f' (did you mean "{found}"?)' if found is not None else ""


def join_key(prefix: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{prefix}[{name}]"
    return f"{prefix}.{name}" if prefix else name


def describe(value: Any) -> str:
    """How a TOML value is named in messages: its type and a short rendering."""
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)
    text = repr(value) if not isinstance(value, (dict, list)) else ""
    if isinstance(value, str):
        text = '"' + (value if len(value) <= 40 else value[:37] + "...") + '"'
    return f"{kind} {text}".strip()


def read_toml(path: Path, label: str | None = None) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a ConfigError that names the file."""
    label = label or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(label, "", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(label, "", f"not UTF-8 text (byte {exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(label, "", f"invalid TOML: {exc}")]) from None


class Reader:
    """Converts TOML data into dataclass instances, collecting problems as it goes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)

    def load(self, cls: type[T], data: Any, key: str = "") -> T | None:
        """Build ``cls`` from a TOML table; None (with problems recorded) when it cannot."""
        if not isinstance(data, dict):
            self.problem(key, f"must be a table, not {describe(data)}")
            return None
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
        variant, variant_cls, data = _variant(fields, data)
        known = [*fields, *(_field_names(variant_cls) if variant_cls is not None else ())]
        for name in data:
            if name not in fields:
                self.problem(join_key(key, name), "unknown key" + did_you_mean(name, known))
        values: dict[str, Any] = {}
        ok = True
        if variant is not None and variant_cls is not None:
            options = self.load(variant_cls, variant[1], key)
            if options is None:
                ok = False
            else:
                values[variant[0]] = options
        for name, f in fields.items():
            sub = join_key(key, name)
            if variant is not None and name == variant[0]:
                continue
            if name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    self.problem(sub, "missing (required)")
                    ok = False
                continue
            value = self.convert(hints[name], data[name], sub, f.metadata)
            if value is _INVALID:
                ok = False
            else:
                values[name] = value
        if not ok:
            return None
        obj = cls(**values)
        check: Callable[[Reader, str], None] | None = getattr(obj, "check", None)
        if check is not None:
            check(self, key)
        return obj

    def convert(self, hint: Any, value: Any, key: str, meta: Mapping[str, Any] = {}) -> Any:
        result = self._convert(hint, value, key)
        if result is _INVALID:
            return result
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and result < lo:
            self.problem(key, f"must be at least {lo} (got {result})")
            return _INVALID
        if hi is not None and result > hi:
            self.problem(key, f"must be at most {hi} (got {result})")
            return _INVALID
        custom: Callable[[Any], str | None] | None = meta.get("check")
        if custom is not None:
            message = custom(result)
            if message:
                self.problem(key, message)
                return _INVALID
        each: Callable[[Any], str | None] | None = meta.get("each")
        keys: Callable[[str], str | None] | None = meta.get("keys")
        if each is None and keys is None:
            return result
        items = list(result.items()) if isinstance(result, Mapping) else list(enumerate(result))
        bad = [(k, m) for k, v in items if each is not None and (m := each(v))]
        bad += [(k, m) for k, _ in items if keys is not None and (m := keys(k))]
        for name, message in sorted(bad, key=lambda b: [k for k, _ in items].index(b[0])):
            self.problem(join_key(key, name), message)
        return _INVALID if bad else result

    def _convert(self, hint: Any, value: Any, key: str) -> Any:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in args if a is not type(None)]
            if len(inner) > 1:  # e.g. a number or a table of numbers: the TOML value's shape decides
                tabular = [a for a in inner if typing.get_origin(a) in (dict, Mapping) or dataclasses.is_dataclass(a)]
                scalar = [a for a in inner if a not in tabular]
                if isinstance(value, dict) and tabular:
                    return self._convert(tabular[0], value, key)
                if not isinstance(value, dict) and scalar:
                    return self._convert(scalar[0], value, key)
            return self._convert(inner[0], value, key)
        if origin is Literal:
            if value in args and type(value) is type(args[0]):
                return value
            options = ", ".join(f'"{a}"' for a in args)
            hint_text = did_you_mean(value, [str(a) for a in args]) if isinstance(value, str) else ""
            self.problem(key, f"must be one of {options}, not {describe(value)}{hint_text}")
            return _INVALID
        if origin is tuple:
            if not isinstance(value, list):
                self.problem(key, f"must be an array, not {describe(value)}")
                return _INVALID
            items = [self._convert(args[0], v, join_key(key, i)) for i, v in enumerate(value)]
            return _INVALID if _INVALID in items else tuple(items)
        if origin in (dict, Mapping):
            if not isinstance(value, dict):
                self.problem(key, f"must be a table, not {describe(value)}")
                return _INVALID
            out = {k: self._convert(args[1], v, join_key(key, k)) for k, v in value.items()}
            return _INVALID if _INVALID in out.values() else types.MappingProxyType(out)
        if dataclasses.is_dataclass(hint):
            obj = self.load(hint, value, key)  # type: ignore[arg-type]
            return _INVALID if obj is None else obj
        return self._scalar(hint, value, key)

    def _scalar(self, hint: Any, value: Any, key: str) -> Any:
        if hint is bool:
            if isinstance(value, bool):
                return value
            self.problem(key, f"must be true or false, not {describe(value)}")
        elif hint is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            self.problem(key, f"must be a whole number, not {describe(value)}")
        elif hint is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                return float(value)
            self.problem(key, f"must be a number, not {describe(value)}")
        elif hint is str:
            if isinstance(value, str):
                return value
            self.problem(key, f"must be a string, not {describe(value)}")
        else:  # pragma: no cover - a programming error in a dataclass, not user input
            raise TypeError(f"unsupported config type {hint!r} at {key}")
        return _INVALID


def _field_names(cls: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def _variant(fields: Mapping[str, dataclasses.Field[Any]],
             data: dict[str, Any]) -> tuple[tuple[str, dict[str, Any]] | None, type[Any] | None, dict[str, Any]]:
    """A table whose other keys depend on one of its values (``[feed]``: its ``type`` decides
    which connector's options it takes). A field with ``options_of = (tag, lookup)`` metadata gets
    the dataclass ``lookup(data[tag])``, built from the keys that are that dataclass's fields;
    the rest of the table is read as usual. Returns (field name, its keys), the class, the rest."""
    for name, f in fields.items():
        spec = f.metadata.get("options_of")
        if spec is None:
            continue
        tag, lookup = spec
        cls = lookup(data.get(tag)) if isinstance(data.get(tag), str) else None
        if cls is None:
            return None, None, {k: v for k, v in data.items() if k != name}
        mine = set(_field_names(cls)) - set(fields)
        return ((name, {k: v for k, v in data.items() if k in mine}), cls,
                {k: v for k, v in data.items() if k not in mine})
    return None, None, data


def salvage(reader: Reader, hint: Any, value: Any, key: str, skip: set[str], meta: Mapping[str, Any] = {}) -> Any:
    """As much of ``value`` as converts, for the checks that span a file in which something did not:
    a field that does not convert is left at its default and its key added to ``skip``; a table of
    values that fail only their checks keeps its keys. A dataclass's own ``check`` runs on what is
    salvaged only when nothing under it was left out (a default could make it report what is not
    so); its new problems join ``reader``'s. _INVALID when nothing can be made of ``value``."""
    result = Reader(reader.file).convert(hint, value, key, meta)
    if result is not _INVALID:
        return result
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]  # an optional section
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        before = len(skip)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(hint):
            if f.init and f.name in value:
                sub = join_key(key, f.name)
                got = salvage(reader, hints[f.name], value[f.name], sub, skip, f.metadata)
                if got is _INVALID:
                    skip.add(sub)
                else:
                    values[f.name] = got
        try:
            obj = hint(**values)  # type: ignore[operator]
        except TypeError:  # a required field did not convert
            return _INVALID
        check: Callable[[Reader, str], None] | None = getattr(obj, "check", None)
        if check is not None and len(skip) == before:
            quiet = Reader(reader.file)
            quiet.problems = list(reader.problems)  # so that a check can see what is already said
            check(quiet, key)
            reader.problems += [p for p in quiet.problems[len(reader.problems):] if p not in reader.problems]
        return obj
    if origin is tuple and isinstance(value, list):
        items = [salvage(reader, typing.get_args(hint)[0], v, join_key(key, i), skip) for i, v in enumerate(value)]
        return _INVALID if _INVALID in items else tuple(items)
    if origin in (dict, Mapping) and isinstance(value, dict):
        return Reader(reader.file).convert(hint, value, key)  # the values' own checks aside
    return _INVALID


class _Invalid:
    def __repr__(self) -> str:
        return "<invalid>"


_INVALID: Any = _Invalid()
