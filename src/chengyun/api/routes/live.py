"""The live feed: every timeline entry as a Server-Sent Event, in order, across all processes.

Entries are read from the timeline table (so events written by any worker reach every screen); the
in-process bus only cuts the wait short. A client that reconnects with Last-Event-ID misses nothing.

With `?alarms=true` the feed also carries the sensors' alarm events (`event: alarm`, read from the
alarms' history the same way); each event's id is then `{order event id}.{alarm event id}`, the
position in both, and Last-Event-ID resumes both.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from chengyun.api.deps import ActorDep, CenterDep
from chengyun.api.feed_hub import FeedHub
from chengyun.api.schemas import ERROR_RESPONSES, MAX_ID
from chengyun.bootstrap import Center
from chengyun.domain.access import READERS, Actor, require_role, sees_contact_on
from chengyun.domain.events import OrderEvent
from chengyun.domain.orders import OrderState, mask_phones_in
from chengyun.services.ports import AlarmFeedItem

router = APIRouter(prefix="/api/v1", tags=["实时"], responses=ERROR_RESPONSES)

POLL_S = 1.0
KEEPALIVE_S = 15.0
BATCH = 500


def event_json(center: Center, event_id: int, event: OrderEvent, actor: Actor) -> dict[str, Any]:
    catalogue = center.orders.catalogue(event.street)
    entry = event.entry
    note = entry.note if sees_contact_on(actor, event.street, event.assignee) else mask_phones_in(entry.note)
    return {
        "id": event_id,
        "order_id": event.order_id,
        "street": event.street,
        "kind": entry.kind,
        "at": entry.at.isoformat(),
        "note": note,
        "actor_name": entry.actor_name,
        "state": event.state,
        "state_label": OrderState(event.state).label,
        "category": event.category,
        "category_name": catalogue.get(event.category).name if event.category in catalogue else None,
        "colour": event.colour,
        "area": event.area,
        "assignee": event.assignee,
        "data": dict(entry.data),
    }


def alarm_json(item: AlarmFeedItem) -> dict[str, Any]:
    return {
        "id": item.event_id,
        "alarm_id": item.alarm_id,
        "street": item.street,
        "kind": item.kind,
        "at": item.at.isoformat(),
        "state": item.state.value,
        "state_label": item.state.label,
        "colour": item.colour.value,
        "message": item.message,
        "sensor_id": item.sensor_id,
        "sensor_label": item.sensor_label,
        "watches": item.watches,
        "order_id": item.order_id,
        "lon": item.location.lon if item.location else None,
        "lat": item.location.lat if item.location else None,
    }


def _fetch(
    center: Center, after: int, streets: frozenset[str] | None, limit: int = BATCH
) -> list[tuple[int, OrderEvent]]:
    with center.uow() as uow:
        return uow.orders.events_since(after, streets, limit)


def _fetch_alarms(
    center: Center, after: int, streets: frozenset[str] | None, limit: int = BATCH
) -> list[AlarmFeedItem]:
    with center.uow() as uow:
        return uow.sensors.alarm_feed(after, streets, limit)


def _last(center: Center) -> tuple[int, int]:
    with center.uow() as uow:
        return uow.orders.last_event_id(), uow.sensors.last_alarm_event_id()


def _resume_point(header: str | None) -> tuple[int | None, int | None]:
    """Last-Event-ID as (order event id, alarm event id): `12` or `12.7`; anything else: (None, None)."""
    if header is None or not header.isascii():
        return None, None
    orders, dot, alarms = header.partition(".")
    if not orders.isdigit() or (dot and not alarms.isdigit()):
        return None, None
    return int(orders), int(alarms) if dot else None


@router.get(
    "/events",
    summary="实时事件流（SSE）",
    response_class=StreamingResponse,
    description="text/event-stream；每条事件带 id，断线重连时以 Last-Event-ID 续传；"
    "浏览器可用 ?access_token= 传令牌。",
)
async def events(
    request: Request,
    center: CenterDep,
    actor: ActorDep,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="从该事件编号之后开始；默认只推送新事件")
    ] = None,
    alarms: Annotated[
        bool,
        Query(
            description="true：同时推送传感器告警事件（event: alarm），事件 id 为「工单事件号.告警事件号」"
        ),
    ] = False,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    require_role(actor, READERS, "订阅实时事件")
    start, alarm_start = _resume_point(last_event_id)
    if start is None:
        start = after
    # An id beyond the last event (a reset database, a bogus header) means "from now", not "never".
    last, last_alarm = await run_in_threadpool(_last, center)
    start = last if start is None else min(start, last)
    alarm_start = last_alarm if alarm_start is None else min(alarm_start, last_alarm)
    return StreamingResponse(
        _stream(request, center, actor, start, alarm_start if alarms else None),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, tuple[Center, FeedHub]]] = (
    weakref.WeakKeyDictionary()
)


def hub_of(center: Center) -> FeedHub:
    """This process's (this event loop's) shared reader of `center`'s event tables."""
    hubs = _hubs.setdefault(asyncio.get_running_loop(), {})
    known = hubs.get(id(center))
    if known is not None and known[0] is center:
        return known[1]

    def watch(wake: Callable[[], None]) -> Callable[[], None]:
        return center.bus.subscribe(lambda _: wake())

    hub = FeedHub(
        lambda after, limit: _fetch(center, after, None, limit),
        lambda: _last(center)[0],
        watch,
        poll_s=POLL_S,
        batch=BATCH,
    )
    hubs[id(center)] = (center, hub)
    return hub


async def _stream(
    request: Request, center: Center, actor: Actor, start: int, alarm_start: int | None
) -> AsyncIterator[str]:
    """`alarm_start` None: orders only, ids as plain numbers (the feed's original contract). The events
    come from the process's shared reader (`hub_of`) once the feed has caught up with it; until then (and
    whenever the reader holds nothing) from the feed's own reads of the tables."""
    hub = hub_of(center)
    streets = None if actor.is_district else actor.streets
    last, last_alarm = start, alarm_start
    items: list[AlarmFeedItem] = []

    def position() -> str:
        return str(last) if last_alarm is None else f"{last}.{last_alarm}"

    def mine(street: str) -> bool:
        return streets is None or street in streets

    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    alarmed = asyncio.Event()  # an alarm in this process: read the alarms now, not at the next tick

    def wake(_: Sequence[object]) -> None:
        loop.call_soon_threadsafe(alarmed.set)

    unsubscribe_alarms = center.alarm_bus.subscribe(wake) if alarm_start is not None else None
    hub.open()
    news = hub.wake_for(streets)  # the hub holds new events of this feed's streets
    try:
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            tick = hub.tick()
            news.clear()
            full = False
            held = hub.orders_after(last)
            if held is not None:
                batch = [(i, e) for i, e in held if mine(e.street)]
                skip_to = hub.orders.last if hub.orders is not None else last
            else:
                batch = await run_in_threadpool(_fetch, center, last, streets)
                full = len(batch) == BATCH
                skip_to = last
            for event_id, event in batch:
                last = event_id
                payload = json.dumps(event_json(center, event_id, event, actor), ensure_ascii=False)
                yield f"id: {position()}\nevent: order\ndata: {payload}\n\n"
            last = max(last, skip_to)  # the other streets' events: seen, not sent
            if last_alarm is not None:
                items = await run_in_threadpool(_fetch_alarms, center, last_alarm, streets)
                full = full or len(items) == BATCH
                for item in items:
                    last_alarm = item.event_id
                    payload = json.dumps(alarm_json(item), ensure_ascii=False)
                    yield f"id: {position()}\nevent: alarm\ndata: {payload}\n\n"
            if batch or (last_alarm is not None and items):
                quiet_since = loop.time()
            if full:
                continue
            if loop.time() - quiet_since >= KEEPALIVE_S:
                quiet_since = loop.time()
                yield ": keepalive\n\n"
            if held is not None and last_alarm is None:
                # Fed by the hub, orders only: asleep until an event of its streets (or the hub stops
                # holding), or until the keepalive is due. A client that leaves ends the stream anyway.
                with suppress(TimeoutError):
                    await asyncio.wait_for(news.wait(), max(0.0, KEEPALIVE_S - (loop.time() - quiet_since)))
                continue
            waits = [asyncio.ensure_future(tick.wait()), asyncio.ensure_future(alarmed.wait())]
            try:
                await asyncio.wait(waits, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
            finally:  # also when the client has gone and the stream is cancelled here
                for waiting in waits:
                    waiting.cancel()
            alarmed.clear()
    finally:
        hub.unwake(news)
        hub.close()
        if unsubscribe_alarms is not None:
            unsubscribe_alarms()
