"""Background loops: the deadline worker (fires due alerts, sleeping until the next one, and has the
dispatcher look over the orders in hand each minute) and the sensor worker (offline sweeps, roll-ups,
retention), on one small thread base."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from chengyun.domain.errors import Conflict, Unavailable
from chengyun.services.ports import Clock

log = logging.getLogger(__name__)


class LoopThread:
    """A daemon thread calling `_round` until stopped; `_round` returns how long to sleep before the
    next round. A failing round is logged and retried a second later: the loop never dies (a database
    restart, a bug in one round)."""

    name = "loop"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0  # rounds finished, failed ones too

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _round(self) -> float:
        raise NotImplementedError

    def _run(self) -> None:
        unavailable = False
        while not self._stop.is_set():
            try:
                sleep = self._round()
                if unavailable:
                    log.warning("%s: the database is back", self.name)
                    unavailable = False
            except Unavailable:
                # Expected while the database restarts: one line, not a traceback every second.
                if not unavailable:
                    log.warning("%s: the database is out of reach; retrying every second", self.name)
                    unavailable = True
                sleep = 1.0
            except Exception:
                log.exception("%s round failed; retrying in 1 s", self.name)
                sleep = 1.0
            self.rounds += 1
            self._stop.wait(timeout=sleep)


class DeadlineWorker(LoopThread):
    """Calls `fire` until nothing is due, then sleeps until the next alert (at most `max_sleep_s`
    of real time, so new deadlines, from this process or another, are seen promptly). Every
    `relieve_every` of the center's clock it calls `relieve` (the dispatcher's 改派 of orders whose
    holder will miss the arrival deadline, `OrderService.relieve_late`), as the simulator does each
    simulated minute; a second worker doing the same finds the order moved already and leaves it."""

    name = "deadline-worker"

    def __init__(
        self,
        fire: Callable[[], int],
        next_alert: Callable[[], datetime | None],
        clock: Clock,
        batch: int = 500,
        max_sleep_s: float = 0.25,
        relieve: Callable[[], int] | None = None,
        relieve_every: timedelta = timedelta(minutes=1),
    ) -> None:
        self._fire = fire
        self._relieve = relieve
        self._relieve_every = relieve_every
        self._relieved_at: datetime | None = None
        self.relieved = 0  # orders reassigned by `relieve`
        self._next_alert = next_alert
        self._clock = clock
        self._batch = batch
        self._max_sleep_s = max_sleep_s
        self.fired = 0
        super().__init__()

    def run_once(self) -> int:
        """Fire everything due now; returns how many orders were touched."""
        total = 0
        while True:
            try:
                n = self._fire()
            except Conflict:
                # Another worker or a user changed an order first and has committed: claim again now.
                log.info("deadline batch conflicted; retrying")
                continue
            total += n
            if n < self._batch:
                return total

    def relieve_if_due(self) -> int:
        """Runs `relieve` when `relieve_every` of the clock has passed since it last ran; returns how
        many orders it reassigned."""
        if self._relieve is None:
            return 0
        now = self._clock.now()
        if self._relieved_at is not None and abs(now - self._relieved_at) < self._relieve_every:
            return 0
        self._relieved_at = now  # a failing round is retried at the next minute, not each second
        moved = self._relieve()
        self.relieved += moved
        return moved

    def _round(self) -> float:
        self.fired += self.run_once()
        self.relieve_if_due()
        return self._sleep_seconds()

    def _sleep_seconds(self) -> float:
        at = self._next_alert()
        if at is None:
            return self._max_sleep_s
        return max(0.0, min(self._max_sleep_s, self._clock.real_seconds_until(at)))


class SensorWorker(LoopThread):
    """The sensors' clock: every `every_s` real seconds, sweeps due checks (offline sensors, clears that
    have held) until none are left; every `roll_up_every_s` rolls up the hours of the readings stored
    since the last roll-up (a roll-up rewrites whole hours from the raw points, which at 14,000 readings
    a second is seconds of work: not something to hold the database for every second); every hour
    applies the retention (the minute buckets of the raw points it deletes are stored first); every
    `file_orders_every_s` files the orders a failure left unfiled."""

    name = "sensor-worker"

    def __init__(
        self,
        sweep: Callable[[], int],
        roll_up: Callable[[], int],
        purge: Callable[[], int],
        batch: int = 500,
        every_s: float = 1.0,
        roll_up_every_s: float = 60.0,
        purge_every_s: float = 3600.0,
        file_orders: Callable[[], int] = lambda: 0,
        file_orders_every_s: float = 30.0,
    ) -> None:
        self._sweep = sweep
        self._roll_up = roll_up
        self._purge = purge
        self._file_orders = file_orders
        self._file_orders_every_s = file_orders_every_s
        self._batch = batch
        self._every_s = every_s
        self._roll_up_every_s = roll_up_every_s
        self._purge_every_s = purge_every_s
        self._rounds = 0
        super().__init__()

    def run_once(self) -> None:
        while self._sweep() >= self._batch:
            pass
        if self._due(self._roll_up_every_s):
            self._roll_up()
        if self._due(self._purge_every_s):
            self._purge()
        if self._due(self._file_orders_every_s):
            self._file_orders()
        self._rounds += 1

    def _due(self, every_s: float) -> bool:
        return self._rounds % max(1, round(every_s / self._every_s)) == 0

    def _round(self) -> float:
        self.run_once()
        return self._every_s
