"""Proposing duplicates (重复件): same kind, tens of metres, within days, similar words."""

from __future__ import annotations

from datetime import timedelta

from builders import DIRECTOR, T0, an_order, at, dispatched
from chengyun.domain.duplicates import propose, similarity
from chengyun.domain.geo import Point
from chengyun.domain.orders import Location, WorkOrder

HERE = Point(121.4450, 31.2250)


def east(metres: float) -> Point:
    return Point(HERE.lon + metres / (111_320.0 * 0.8554), HERE.lat)


def open_order(order_id: int, **kwargs: object) -> WorkOrder:
    order = an_order(**kwargs)  # type: ignore[arg-type]
    order.id = order_id
    return order


def test_the_same_loose_paving_reported_twice_nearby_is_proposed() -> None:
    first = open_order(
        1, point=HERE, category="200101", description="南京西路商场门口人行道地砖翘起，有人绊倒"
    )
    again = open_order(
        2,
        point=east(20),
        now=at(40),
        category="200101",
        description="商场门口的人行道地砖松动翘起来了，差点绊倒",
    )
    (proposal,) = propose(again, [first])
    assert proposal.order_id == 1 and 15 < (proposal.distance_m or 0) < 25
    assert "与工单 1 同类、相距约 20 米" in proposal.reason


def test_other_kind_far_away_old_or_unlike_text_is_not_proposed() -> None:
    first = open_order(1, point=HERE, category="200101", description="人行道地砖翘起绊倒行人")
    text = "人行道地砖翘起，绊倒行人"
    assert propose(open_order(2, point=east(10), category="100118", description=text), [first]) == []
    assert propose(open_order(3, point=east(120), category="200101", description=text), [first]) == []
    late = open_order(4, point=east(10), category="200101", description=text, now=T0 + timedelta(days=4))
    assert propose(late, [first]) == []
    unlike = open_order(5, point=east(10), category="200101", description="楼下饭店油烟太大熏得睁不开眼")
    assert propose(unlike, [first]) == []


def test_suspended_orders_absorb_no_duplicates() -> None:
    first = dispatched(open_order(1, point=HERE, description="井盖缺失有人掉下去风险"))
    first.suspend(at(5), DIRECTOR, "暂无法处置")
    again = open_order(2, point=east(5), now=at(10), description="井盖缺失，有掉下去的风险")
    assert propose(again, [first]) == []


def test_without_points_the_same_building_counts_as_the_same_place() -> None:
    first = open_order(1, description="楼道里堆满杂物堵住消防通道")
    first.location = Location(None, "愚园路608弄6号", "a1", "g1", "B42")
    again = open_order(2, description="楼道杂物堆积堵住了消防通道")
    again.location = Location(None, "愚园路608弄6号门口", "a1", "g1", "B42")
    assert [p.order_id for p in propose(again, [first])] == [1]
    assert propose(again, [first])[0].distance_m is None


def test_similarity_ignores_hotline_filler_words() -> None:
    assert similarity("市民来电反映路灯不亮，请尽快处理", "路灯不亮") == 1.0
    assert similarity("路灯不亮", "噪声扰民") == 0.0
