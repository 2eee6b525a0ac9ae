"""A reading computed on first use and kept: :func:`functools.cached_property` without its lock.

Python 3.11's ``cached_property`` takes a lock (one per property, shared by every
instance) on each first read; 3.12 dropped it as a mistake. A judged answer's
view makes some fifteen first reads, and the lock was a twentieth of judging it.
Each object the kit reads this way (one exchange's view, its body, its columns)
belongs to the one thread that judges it; two threads that raced would compute
the same pure value twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar, overload

__all__ = ["once"]

T = TypeVar("T")


class once(Generic[T]):
    """``@once`` over a method: its value is kept in the instance's ``__dict__`` on first read."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> T | Self:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value
