"""The in-process event bus: one publisher, many subscribers (screen feed, notifier, ...)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from chengyun.domain.events import OrderEvent

log = logging.getLogger(__name__)

Subscriber = Callable[[Sequence[OrderEvent]], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it again."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, events: Sequence[OrderEvent]) -> None:
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
