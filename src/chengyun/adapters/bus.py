"""The in-process event bus: one publisher, many subscribers (screen feed, notifier, ...)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")


class EventBus(Generic[E]):
    """Events of one kind (order events; alarm events) to every subscriber."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Sequence[E]], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Callable[[Sequence[E]], None]) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it again."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, events: Sequence[E]) -> None:
        if not events:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(events)
            except Exception:
                # One broken subscriber must not stop the others or fail the command that already committed.
                log.exception("event subscriber failed")
