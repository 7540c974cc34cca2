"""Answers of the HTTP API back into the Engine's own result types, from their ``to_dict()`` shape.

Every value the Engine hands the CLI is a dataclass whose ``to_dict()`` is ``asdict``
(plus, for some, a derived key such as a visit's ``duration_seconds``). One function
reverses that for all of them, led by the fields' type hints, so a result type that
gains a field needs nothing here. Keys the type does not have are left out: a newer
server may add fields (product.md: "add fields freely, never rename").
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar, Union

T = TypeVar("T")


def one(cls: type[T]) -> Callable[[Any], T]:
    """A reader of one ``cls`` (for :meth:`~workflow.client.transport.Transport.call`'s ``read``)."""
    return functools.partial(from_dict, cls)


def many(cls: type[T]) -> Callable[[Any], list[T]]:
    """A reader of a JSON array of ``cls``."""
    return lambda values: [from_dict(cls, v) for v in values]


def from_dict(cls: type[T], data: Any) -> T:
    """``cls(**data)``, nested dataclasses (and lists and optionals of them) rebuilt too."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} is a JSON object, not {type(data).__name__}")
    hints = _hints(cls)
    values = {
        f.name: _value(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init and f.name in data
    }
    return cls(**values)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(hint):
            if isinstance(option, type) and dataclasses.is_dataclass(option) and isinstance(value, dict):
                return from_dict(option, value)
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_value(item, v) for v in value]
    if origin is tuple and typing.get_args(hint)[1:] == (Ellipsis,):  # tuple[X, ...]
        return tuple(_value(typing.get_args(hint)[0], v) for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    return value
