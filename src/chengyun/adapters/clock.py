"""Clocks: the wall clock, and a simulated clock that runs N times faster for drills and the demo."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds_until(self, at: datetime) -> float:
        return (at - self.now()).total_seconds()


class SimulatedClock:
    """Starts at `start` and runs `speed` times faster than real time. Clocks given the same `anchor`
    (the simulated start and the `time.monotonic()` it stands for, the same in every process of one
    machine) tell the same time: the processes of `serve --workers N` share one simulated time."""

    def __init__(
        self, start: datetime | None = None, speed: float = 1.0, real_origin: float | None = None
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._origin = (start or datetime.now(UTC)).astimezone(UTC)
        self._real_origin = time.monotonic() if real_origin is None else real_origin
        self.speed = speed

    @property
    def anchor(self) -> tuple[datetime, float]:
        return self._origin, self._real_origin

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._real_origin) * self.speed)

    def real_seconds_until(self, at: datetime) -> float:
        return (at - self.now()).total_seconds() / self.speed


class ManualClock:
    """A clock that moves only when told: for tests and step-by-step simulation."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = at.astimezone(UTC)

    def real_seconds_until(self, at: datetime) -> float:
        # Manual time never arrives by waiting; a worker on this clock polls.
        return 0.0 if at <= self.now() else 0.05
