"""A street's rule sets other than the deadline policies (grading, supervision, notifications): JSON
stored by key, parsed once and kept for a few seconds (a change through this process counts at once,
in other processes within the TTL, as the deadline policies do)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from chengyun.services.ports import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")


class StreetSetting(Generic[T]):
    TTL_S = 10.0

    def __init__(self, uow: UnitOfWorkFactory, key: str, parse: Callable[[Any], T], default: T) -> None:
        self._uow = uow
        self._key = key
        self._parse = parse
        self._default = default
        self._cache: dict[str, tuple[float, T]] = {}
        self._every: tuple[float, list[T]] | None = None

    def get(self, street: str, uow: UnitOfWork | None = None) -> T:
        """The street's value (the default until it has one). Inside a transaction, pass its unit of
        work: a second transaction would wait on SQLite's write lock held by the first."""
        hit = self._cache.get(street)
        if hit is not None and time.monotonic() - hit[0] < self.TTL_S:
            return hit[1]
        if uow is None:
            with self._uow() as fresh:
                body = fresh.settings.get(street, self._key)
        else:
            body = uow.settings.get(street, self._key)
        value = self._parse(body) if body is not None else self._default
        self._cache[street] = (time.monotonic(), value)
        return value

    def every(self, uow: UnitOfWork) -> list[T]:
        """The default and every street's own value (kept for the same few seconds as `get`'s)."""
        hit = self._every
        if hit is not None and time.monotonic() - hit[0] < self.TTL_S:
            return hit[1]
        values = [self._default] + [self._parse(body) for body in uow.settings.every(self._key).values()]
        self._every = (time.monotonic(), values)
        return values

    def put(self, street: str, body: Any, at: datetime, by: str) -> None:
        """Store a value already checked (as JSON)."""
        with self._uow() as uow:
            uow.settings.put(street, self._key, body, at, by)
            uow.commit()
        self._cache.pop(street, None)
        self._every = None
