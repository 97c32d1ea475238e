"""The duty officer's board: the street's live orders that need attention now (domain/board.py), with
the counts by reason and the latest urge and circulated notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chengyun.domain.access import READERS, Actor, require_role, require_street
from chengyun.domain.board import Attention, BoardItem, board
from chengyun.domain.orders import LIVE_STATES, OrderState
from chengyun.domain.supervision import Notice
from chengyun.services.orders import OrderService
from chengyun.services.ports import Clock, OrderQuery, UnitOfWorkFactory

MAX_ORDERS = 5000  # live orders looked at; a street with more has bigger problems than its board
NOTICES_SINCE = timedelta(hours=24)


@dataclass(frozen=True)
class Board:
    street: str
    now: datetime
    items: list[BoardItem]
    counts: dict[Attention, int]
    live: int  # live orders of the street
    notices: list[Notice]


class BoardService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, orders: OrderService) -> None:
        self._uow = uow
        self._clock = clock
        self._orders = orders

    def board(self, actor: Actor, street: str, limit: int = 200) -> Board:
        require_role(actor, READERS, "查看值班长工作台")
        require_street(actor, street)
        now = self._clock.now()
        states = [*sorted(LIVE_STATES), OrderState.SUSPENDED]
        with self._uow() as uow:
            page = uow.orders.search(OrderQuery(street=street, states=states, limit=MAX_ORDERS))
            policies, _ = self._orders.rules(uow, street)
            notices, _ = uow.notices.search(street, None, now - NOTICES_SINCE, 20, 0)
        items = board(page.items, now, lambda o: policies.get(o.policy_code))
        counts = {reason: 0 for reason in Attention}
        for item in items:
            for reason in item.reasons:
                counts[reason] += 1
        return Board(street, now, items[:limit], counts, page.total, notices)
