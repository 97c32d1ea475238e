"""The live feeds' shared reader (api/feed_hub.py): one read of the timeline a tick for all of a process's
open feeds, and exactly the events a feed's own read would give."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from chengyun.api.feed_hub import FeedHub


class Timeline:
    """A fake timeline table: events (id, event) with ids in order; counts the reads."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, Any]] = []
        self.reads = 0
        self.wake: Callable[[], None] | None = None

    def write(self, street: str) -> int:
        event_id = len(self.rows) + 1
        self.rows.append((event_id, SimpleNamespace(street=street)))
        if self.wake is not None:
            self.wake()
        return event_id

    def fetch(self, after: int, limit: int) -> list[tuple[int, Any]]:
        self.reads += 1
        return [r for r in self.rows if r[0] > after][:limit]

    def last(self) -> int:
        return self.rows[-1][0] if self.rows else 0

    def watch(self, wake: Callable[[], None]) -> Callable[[], None]:
        self.wake = wake

        def off() -> None:
            self.wake = None

        return off


def hub_on(timeline: Timeline, *, batch: int = 500, keep: int = 5000) -> FeedHub:
    return FeedHub(timeline.fetch, timeline.last, timeline.watch, poll_s=0.05, batch=batch, keep=keep)


def test_fifty_open_feeds_cost_one_read_a_tick_not_fifty() -> None:
    timeline = Timeline()

    async def scenario() -> None:
        hub = hub_on(timeline)
        for _ in range(50):
            hub.open()
        for _ in range(5):
            await hub.tick().wait()
        for _ in range(50):
            hub.close()
        await hub.tick().wait()  # the reader stops once no feed is open

    asyncio.run(scenario())
    assert 5 <= timeline.reads <= 7  # one a tick (the last tick may read once more before it stops)


def test_a_feed_gets_every_event_after_its_position_and_only_those() -> None:
    timeline = Timeline()
    timeline.write("JAS")  # before the hub started: not held

    async def scenario() -> tuple[Any, Any, Any, int]:
        hub = hub_on(timeline)
        hub.open()
        await hub.tick().wait()
        before_start = hub.orders_after(0)  # event 1 is older than what the hub holds: read it yourself
        ids = [timeline.write(s) for s in ("JAS", "NJX", "JAS")]  # 2, 3, 4, each waking the reader
        while hub.orders is None or hub.orders.last < ids[-1]:
            await hub.tick().wait()
        held = hub.orders_after(1)
        newest = hub.orders_after(3)
        reads = timeline.reads
        hub.close()
        return before_start, held, newest, reads

    before_start, held, newest, _ = asyncio.run(scenario())
    assert before_start is None
    assert [(i, e.street) for i, e in held] == [(2, "JAS"), (3, "NJX"), (4, "JAS")]
    assert [i for i, _ in newest] == [4]


def test_a_feed_further_behind_than_the_hub_keeps_reads_for_itself() -> None:
    timeline = Timeline()

    async def scenario() -> tuple[Any, Any]:
        hub = hub_on(timeline, keep=3)
        hub.open()
        await hub.tick().wait()
        for _ in range(5):
            timeline.write("JAS")
        while hub.orders is None or hub.orders.last < 5:
            await hub.tick().wait()
        result = hub.orders_after(1), hub.orders_after(2)
        hub.close()
        return result

    too_old, caught_up = asyncio.run(scenario())
    assert too_old is None  # events 2 … 5 no longer all held (only 3, 4, 5)
    assert [i for i, _ in caught_up] == [3, 4, 5]


def test_more_new_events_than_a_batch_are_all_read_in_one_tick() -> None:
    timeline = Timeline()

    async def scenario() -> list[int]:
        hub = hub_on(timeline, batch=2)
        hub.open()
        await hub.tick().wait()
        timeline.wake = None  # no wake: the next tick finds all five
        for _ in range(5):
            timeline.rows.append((len(timeline.rows) + 1, SimpleNamespace(street="JAS")))
        await hub.tick().wait()
        held = hub.orders_after(0)
        hub.close()
        return [i for i, _ in held or []]

    assert asyncio.run(scenario()) == [1, 2, 3, 4, 5]


def test_a_feed_is_woken_only_by_events_of_its_streets_and_when_the_hub_stops() -> None:
    timeline = Timeline()

    async def scenario() -> list[tuple[bool, bool, bool]]:
        hub = hub_on(timeline)
        hub.open()
        jas, njx, district = (
            hub.wake_for(frozenset({"JAS"})),
            hub.wake_for(frozenset({"NJX"})),
            hub.wake_for(None),
        )
        await hub.tick().wait()
        seen = []
        for street in ("JAS", "NJX"):
            for wake in (jas, njx, district):
                wake.clear()
            event_id = timeline.write(street)
            while hub.orders is None or hub.orders.last < event_id:
                await hub.tick().wait()
            seen.append((jas.is_set(), njx.is_set(), district.is_set()))
        for wake in (jas, njx, district):
            wake.clear()
        await hub.tick().wait()  # a tick with nothing new wakes no feed
        seen.append((jas.is_set(), njx.is_set(), district.is_set()))
        hub.unwake(njx)
        hub.close()
        await hub.tick().wait()  # the reader stops: the feeds still registered read for themselves
        seen.append((jas.is_set(), njx.is_set(), district.is_set()))
        return seen

    assert asyncio.run(scenario()) == [
        (True, False, True),
        (False, True, True),
        (False, False, False),
        (True, False, True),
    ]
