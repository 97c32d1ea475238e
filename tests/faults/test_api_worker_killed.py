"""`chengyun serve --workers 2`: an API process killed with SIGKILL while orders are being created.
Callers retry with their Idempotency-Key; every order the server acknowledged is stored, none twice,
and the supervisor replaces the dead process."""

from __future__ import annotations

import os
import signal

from apikit import TILE
from callers import Callers, stored
from district import TOKEN, District
from throwaway import wait_for


def test_an_api_worker_killed_during_order_creation_loses_no_acknowledged_order_and_stores_none_twice(
    district: District,
) -> None:
    serve = district.server
    assert len(serve.api_workers()) == 2
    with Callers(serve.url, TOKEN, TILE | {"street": "T"}, "kill") as callers:
        wait_for(lambda: callers.acknowledged() >= 20, "orders before the kill")
        killed: list[int] = []
        # Kill until a request was cut mid-way: a process between two requests proves nothing.
        while callers.tally.cut == 0 and len(killed) < 4:
            killed.append(serve.api_workers()[0])
            os.kill(killed[-1], signal.SIGKILL)
            wait_for(
                lambda: len(serve.api_workers()) == 2 and killed[-1] not in serve.api_workers(), "a new one"
            )
        before = callers.acknowledged()
        wait_for(lambda: callers.acknowledged() >= before + 20, "orders after the kill")
    tally = callers.tally
    assert tally.failures == []
    assert tally.cut > 0, "no request was in flight in the killed process"
    assert tally.server_errors == []
    wait_for(lambda: len(serve.api_workers()) == 2, "the supervisor to replace the dead process")
    assert not set(killed) & set(serve.api_workers())

    with district.engine.connect() as connection:
        orders = stored(connection, "kill")
    assert len(orders) == len(dict(orders))  # no key stored twice
    assert dict(orders) == tally.acknowledged  # every acknowledged order, with the id its caller was given
