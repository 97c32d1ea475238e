"""Sliding windows that count what each client did lately: failed tokens (services.auth) and public
requests (api.ratelimit). Real seconds through an injectable `now`, whatever the center's clock; kept in
this process; called on the event loop only, so without a lock."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class SlidingWindow:
    """At most `limit` events per client within any `window_s` seconds. Each client's recent event times
    are kept (at most `limit` of them); at most `max_clients` clients are remembered, the least recently
    seen forgotten first."""

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        now: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._now = now
        self._max = max_clients
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, client: str) -> float | None:
        """None while the client is below its limit; else the seconds until the oldest of its events
        leaves the window. Counts nothing."""
        times = self._recent(client)
        if times is None or len(times) < self.limit:
            return None
        return max(times[0] + self.window_s - self._now(), 0.001)

    def record(self, client: str) -> None:
        times = self._recent(client)
        if times is None:
            times = self._seen[client] = deque(maxlen=self.limit)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
        times.append(self._now())

    def take(self, client: str) -> float | None:
        """Counts an event of the client and returns None; or, at its limit, counts nothing and returns
        the seconds to wait (`wait`)."""
        wait = self.wait(client)
        if wait is None:
            self.record(client)
        return wait

    def _recent(self, client: str) -> deque[float] | None:
        times = self._seen.get(client)
        if times is not None:
            horizon = self._now() - self.window_s
            while times and times[0] <= horizon:
                times.popleft()
            self._seen.move_to_end(client)
        return times
