"""One reader of the order events per process for all of its open live feeds.

Every open page (each area manager's /tasks, each board, each wall screen) holds a feed open; each used to
read the timeline once a second on its own: with a district's 360 pages open
that was 360 queries a second, a third of the API processes' time at a busy hour (bench/README.md,
"district_load.py"). The hub reads once a tick for all of them (every POLL_S, or at once when this
process's buses say something happened), keeps the newest events in memory, and each feed takes from
there what its streets may see. A feed whose position is older than what the hub holds (a screen resuming
with Last-Event-ID, a feed opened before the hub's first read) reads the tables itself until it has
caught up, as every feed did before. The alarms' history (asked for by the wall screens only, a few
feeds) is still read by each feed: an alarm's row is completed (its order) right after it is announced,
and a feed reads it as late as it can.

A feed that takes its events from the hub sleeps until the hub holds an event of its streets (`wake_for`), or
until its keepalive is due: at a busy hour most pages' streets have no event in most ticks, and waking
every feed every tick (360 coroutines a second, each checking its connection and making two waits) was the
largest part of an API process's event loop (bench/README.md, "district_load.py").

The events a feed sends are the same either way: the hub reads exactly what a feed's own query would
(`id > position` in id order), for all streets at once, at about the same moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from chengyun.domain.events import OrderEvent

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Held(Generic[T]):
    """The newest events of one kind: all events with an id above `floor`, up to `last`, are in `items`."""

    floor: int
    last: int
    items: deque[tuple[int, T]]

    def after(self, position: int) -> list[tuple[int, T]] | None:
        """The held events after `position`; None if some of them are no longer (or not yet) held."""
        if position < self.floor:
            return None
        newer: list[tuple[int, T]] = []
        for item in reversed(self.items):  # the newest first: a feed is usually a tick or two behind
            if item[0] <= position:
                break
            newer.append(item)
        newer.reverse()
        return newer

    def add(self, batch: list[tuple[int, T]]) -> None:
        for item in batch:
            if len(self.items) == self.items.maxlen:
                self.floor = self.items.popleft()[0]
            self.items.append(item)
            self.last = item[0]


class FeedHub:
    """The shared reader of the order events. `fetch_orders(after, limit)` reads the timeline (all streets,
    id order), `last()` its newest id; they run in the thread pool. `watch(wake)` has
    `wake` called (from any thread) when this process writes events, and returns how to stop that."""

    def __init__(
        self,
        fetch_orders: Callable[[int, int], list[tuple[int, OrderEvent]]],
        last: Callable[[], int],
        watch: Callable[[Callable[[], None]], Callable[[], None]],
        *,
        poll_s: float,
        batch: int,
        keep: int = 5000,
    ) -> None:
        self._fetch_orders = fetch_orders
        self._last = last
        self._watch = watch
        self.poll_s = poll_s
        self.batch = batch
        self.keep = keep
        self.orders: _Held[OrderEvent] | None = None  # None: not reading (no feed open, or starting)
        self.reads = 0  # rounds of reading the tables (for tests and benchmarks)
        self._feeds = 0
        self._task: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()
        self._tick = asyncio.Event()
        # The feeds' own wake-ups: by street, and those of every street (a district's feed).
        self._by_street: dict[str, set[asyncio.Event]] = {}
        self._everywhere: set[asyncio.Event] = set()

    # --- for the feeds ---

    def open(self) -> None:
        """A feed opens: the hub reads while any feed is open."""
        self._feeds += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> None:
        self._feeds -= 1
        if self._feeds == 0:
            self._woken.set()  # let the reader see there is no one left

    def tick(self) -> asyncio.Event:
        """Set once the hub has read again; take it *before* looking at what the hub holds."""
        return self._tick

    def wake_for(self, streets: frozenset[str] | None) -> asyncio.Event:
        """An event the hub sets when it holds new events of `streets` (None: of any street) and when it
        stops holding events (the feed is then to read for itself). Clear it before looking at what
        the hub holds; `unwake` it when the feed ends."""
        wake = asyncio.Event()
        if streets is None:
            self._everywhere.add(wake)
        else:
            for street in streets:
                self._by_street.setdefault(street, set()).add(wake)
        return wake

    def unwake(self, wake: asyncio.Event) -> None:
        self._everywhere.discard(wake)
        for street in [s for s, wakes in self._by_street.items() if wake in wakes]:
            wakes = self._by_street[street]
            wakes.discard(wake)
            if not wakes:
                del self._by_street[street]

    def _wake(self, streets: set[str] | None) -> None:
        """Wakes the feeds of `streets` (None: every feed)."""
        if streets is None:
            for wakes in self._by_street.values():
                for wake in wakes:
                    wake.set()
        else:
            for street in streets:
                for wake in self._by_street.get(street, ()):
                    wake.set()
        if streets is None or streets:
            for wake in self._everywhere:
                wake.set()

    def orders_after(self, position: int) -> list[tuple[int, OrderEvent]] | None:
        return None if self.orders is None else self.orders.after(position)

    # --- the reader ---

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()

        def wake() -> None:  # something happened in this process: read now, not at the next tick
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._woken.set)

        unwatch = self._watch(wake)
        try:
            last = await run_in_threadpool(self._last)
            self.orders = _Held(last, last, deque(maxlen=self.keep))
            while self._feeds > 0:
                await self._read()
                tick, self._tick = self._tick, asyncio.Event()
                tick.set()
                self._woken.clear()
                if self._feeds > 0:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._woken.wait(), timeout=self.poll_s)
        except Exception:
            # The feeds go on reading for themselves (they find the hub not holding anything).
            log.exception("the live feeds' shared reader failed")
        finally:
            unwatch()
            self.orders = None
            self._task = None
            tick, self._tick = self._tick, asyncio.Event()
            tick.set()
            self._wake(None)

    async def _read(self) -> None:
        assert self.orders is not None
        self.reads += 1
        streets: set[str] = set()
        try:
            while True:
                orders = await run_in_threadpool(self._fetch_orders, self.orders.last, self.batch)
                self.orders.add(orders)
                streets.update(event.street for _, event in orders)
                if len(orders) < self.batch:
                    return
        finally:
            if streets:
                self._wake(streets)
