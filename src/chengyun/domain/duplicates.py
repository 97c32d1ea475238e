"""Duplicate orders (重复件): the same problem reported again, close in place, kind, time and words.

A new order is *proposed* as a duplicate of an open one; the hotline handler confirms the merge.
Nothing here merges anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chengyun.domain.dispatch import walk_metres
from chengyun.domain.orders import Group, Location, OrderState, WorkOrder

RADIUS_M = 50.0  # "tens of metres"
SAME_SPOT_M = 5.0
WINDOW = timedelta(hours=72)
MIN_SIMILARITY = 0.25  # character-bigram Dice coefficient of the two descriptions
MAX_PROPOSALS = 5

# Words every complaint uses: they say nothing about which problem it is.
_FILLER = re.compile(
    r"市民|反映|来电|投诉|诉求|希望|要求|尽快|处理|解决|请|您好|你好|谢谢|一下|现在|已经|这个|那个"
)
_NOT_TEXT = re.compile(r"[^\w]|[\d_a-zA-Z]")


@dataclass(frozen=True)
class Candidate:
    """What duplicate detection reads of an earlier order: the repository loads no more of it (a whole
    order, its contacts, clocks and supervisions decoded, cost more than the rest of the check)."""

    id: int
    street: str
    category: str
    state: OrderState
    received_at: datetime
    location: Location
    description: str

    @classmethod
    def of(cls, order: WorkOrder) -> Candidate:
        assert order.id is not None
        return cls(
            order.id,
            order.street,
            order.category,
            order.state,
            order.received_at,
            order.location,
            order.description,
        )


@dataclass(frozen=True)
class DuplicateProposal:
    order_id: int
    distance_m: float | None  # None when matched by the same building or address, not by points
    similarity: float
    reason: str  # Chinese, for the handler

    def to_dict(self) -> dict[str, object]:
        return {
            "order_id": self.order_id,
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
            "similarity": round(self.similarity, 3),
            "reason": self.reason,
        }


def bigrams(text: str) -> frozenset[str]:
    text = _NOT_TEXT.sub("", _FILLER.sub("", unicodedata.normalize("NFKC", text)))
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the descriptions' character bigrams (0..1), fillers, digits and Latin removed."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


def may_absorb(order: WorkOrder | Candidate) -> bool:
    """An order that a duplicate can still be merged into."""
    return order.state.group is Group.OPEN or order.state is OrderState.HANDLED


def propose(new: WorkOrder, candidates: Iterable[WorkOrder | Candidate]) -> list[DuplicateProposal]:
    """Open orders `new` probably repeats, best first."""
    found: list[DuplicateProposal] = []
    for other in candidates:
        if other.id is None or other.id == new.id or other.street != new.street:
            continue
        if other.category != new.category or not may_absorb(other):
            continue
        if abs(new.received_at - other.received_at) > WINDOW:
            continue
        distance = _distance(new, other)
        if distance is None and not _same_place(new, other):
            continue
        if distance is not None and distance > RADIUS_M:
            continue
        score = similarity(new.description, other.description)
        if score < MIN_SIMILARITY:
            continue
        where = "同一地点" if distance is None or distance < SAME_SPOT_M else f"相距约 {round(distance)} 米"
        found.append(
            DuplicateProposal(
                other.id,
                distance,
                score,
                f"与工单 {other.id} 同类、{where}、描述相似度 {score:.0%}，疑似重复件",
            )
        )
    found.sort(key=lambda p: (-p.similarity, p.distance_m or 0.0, p.order_id))
    return found[:MAX_PROPOSALS]


def _distance(a: WorkOrder, b: WorkOrder | Candidate) -> float | None:
    if a.location.point is None or b.location.point is None:
        return None
    return walk_metres(a.location.point, b.location.point)


def _same_place(a: WorkOrder, b: WorkOrder | Candidate) -> bool:
    if a.location.building and a.location.building == b.location.building:
        return True
    return bool(a.location.address) and a.location.address == b.location.address
