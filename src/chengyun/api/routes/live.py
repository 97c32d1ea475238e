"""The live feed: every timeline entry as a Server-Sent Event, in order, across all processes.

Entries are read from the timeline table (so events written by any worker reach every screen); the
in-process bus only cuts the wait short. A client that reconnects with Last-Event-ID misses nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from chengyun.api.deps import ActorDep, CenterDep
from chengyun.api.schemas import MAX_ID
from chengyun.bootstrap import Center
from chengyun.domain.access import READERS, Actor, require_role
from chengyun.domain.events import OrderEvent
from chengyun.domain.orders import OrderState

router = APIRouter(prefix="/api/v1", tags=["实时"])

POLL_S = 1.0
KEEPALIVE_S = 15.0
BATCH = 500


def event_json(center: Center, event_id: int, event: OrderEvent) -> dict[str, Any]:
    catalogue = center.orders.catalogue(event.street)
    entry = event.entry
    return {
        "id": event_id,
        "order_id": event.order_id,
        "street": event.street,
        "kind": entry.kind,
        "at": entry.at.isoformat(),
        "note": entry.note,
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


def _fetch(center: Center, after: int, streets: frozenset[str] | None) -> list[tuple[int, OrderEvent]]:
    with center.uow() as uow:
        return uow.orders.events_since(after, streets, BATCH)


def _last(center: Center) -> int:
    with center.uow() as uow:
        return uow.orders.last_event_id()


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
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    require_role(actor, READERS, "订阅实时事件")
    start = after
    if last_event_id is not None and last_event_id.isascii() and last_event_id.isdigit():
        start = int(last_event_id)
    # An id beyond the last event (a reset database, a bogus header) means "from now", not "never".
    last = await run_in_threadpool(_last, center)
    start = last if start is None else min(start, last)
    return StreamingResponse(
        _stream(request, center, actor, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(request: Request, center: Center, actor: Actor, start: int) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake(_: Sequence[OrderEvent]) -> None:
        loop.call_soon_threadsafe(woken.set)

    unsubscribe = center.bus.subscribe(wake)
    streets = None if actor.is_district else actor.streets
    last, idle = start, 0.0
    try:
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            batch = await run_in_threadpool(_fetch, center, last, streets)
            for event_id, event in batch:
                last = event_id
                payload = json.dumps(event_json(center, event_id, event), ensure_ascii=False)
                yield f"id: {event_id}\nevent: order\ndata: {payload}\n\n"
            if len(batch) == BATCH:
                continue
            try:
                await asyncio.wait_for(woken.wait(), timeout=POLL_S)
                idle = 0.0
            except TimeoutError:
                idle += POLL_S
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield ": keepalive\n\n"
            woken.clear()
    finally:
        unsubscribe()
