"""Supervision after repeated lateness, on a moved clock: an order late again is urged (催办), urged
enough and late again it is circulated (通报), a person whose orders keep running late is circulated;
and the same by hand."""

from __future__ import annotations

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.domain.errors import IllegalTransition, ImportRejected, InvalidInput, PermissionDenied
from chengyun.domain.geo import Point
from chengyun.domain.supervision import NoticeKind
from chengyun.services.deadlines import fire_due
from street import ADMIN, STREET, person, tile

DESK = person(Role.HOTLINE_HANDLER, "H1")
DUTY = person(Role.DUTY_OFFICER, "O1", "周强")
M1 = person(Role.AREA_MANAGER, "M1")
PLAIN = "商场门口人行道大理石地砖翘起"
SITE = Point(121.4421, 31.2251)


def new_order(center: Center, address: str = "愚园路608弄6号") -> int:
    """A plain order in A1 (M1's area): at an address the test street knows, or placed in A1 by hand."""
    order = center.orders.create(DESK, tile(description=PLAIN, address=address, area="A1")).order
    assert order.assignee == "M1"
    return order.id or 0


def fire(center: Center, clock: ManualClock) -> None:
    fire_due(center.uow, clock, center.bus.publish, center.orders)


def entries(center: Center, order_id: int, kind: str) -> list[str]:
    return [e.note for e in center.orders.timeline(DESK, order_id) if e.kind == kind]


def notices(
    center: Center, kind: NoticeKind | None = None
) -> list[tuple[str, tuple[int, ...], str | None, bool]]:
    found, _ = center.supervision.notices(DUTY, STREET, kind)
    return [(n.kind.value, n.order_ids, n.staff, n.automatic) for n in reversed(found)]


def test_a_first_lateness_is_only_marked_and_a_second_one_urges_the_assignee(
    center: Center, clock: ManualClock
) -> None:
    oid = new_order(center)
    clock.advance(minutes=6)
    fire(center, clock)  # the response is late: overdue notice, escalation to the partner, no urge
    assert entries(center, oid, "urged") == []
    center.orders.respond(M1, oid, "已联系")
    clock.advance(minutes=10)  # 16 min: the arrival is late too
    fire(center, clock)
    assert entries(center, oid, "urged") == [
        "催办（第 1 次，系统自动）：到场环节已超期（本轮第 2 次超期），请立即办理并反馈进展"
    ]
    assert notices(center) == [("urge", (oid,), "M1", True)]
    fire(center, clock)  # nothing new is due: nothing is urged twice
    assert len(entries(center, oid, "urged")) == 1


def test_urged_enough_and_late_again_the_order_is_circulated_once(center: Center, clock: ManualClock) -> None:
    center.supervision.set_rules(ADMIN, STREET, {"urge_after_late": 1, "circulate_after_urges": 2})
    oid = new_order(center)
    center.supervision.urge(DUTY, oid, "请尽快联系诉求人")  # by hand: counts as the first urge
    clock.advance(minutes=6)
    fire(center, clock)  # late once: urged (the second time)
    center.orders.respond(M1, oid)
    clock.advance(minutes=10)
    fire(center, clock)  # late again, urged twice already: circulated
    assert entries(center, oid, "urged") == [
        "催办（第 1 次）：请尽快联系诉求人",
        "催办（第 2 次，系统自动）：响应环节已超期（本轮第 1 次超期），请立即办理并反馈进展",
    ]
    [circulated] = entries(center, oid, "circulated")
    assert circulated == "通报（系统自动）：本单已催办 2 次仍再次超期（本轮第 2 次超期），予以通报"
    center.orders.arrive(M1, oid, SITE)
    supervised = center.orders.supervise(DUTY, oid, "请说明超期原因", reply_minutes=10)
    assert supervised.supervisions
    clock.advance(minutes=11)
    fire(center, clock)  # the supervision reply is late: urged again, never circulated twice
    assert len(entries(center, oid, "circulated")) == 1
    assert len(entries(center, oid, "urged")) == 3
    assert [k for k, *_ in notices(center)] == ["urge", "urge", "circulate", "urge"]


def test_a_person_whose_orders_keep_running_late_is_circulated_and_counting_starts_again(
    center: Center, clock: ManualClock
) -> None:
    center.supervision.set_rules(ADMIN, STREET, {"circulate_person_late": 3, "urge_after_late": 9})
    ids = [new_order(center, address) for address in ("愚园路608弄6号", "愚园路1号", "愚园路3号")]
    clock.advance(minutes=6)
    fire(center, clock)  # three late responses, all M1's
    assert center.supervision.pump() > 0
    [notice] = center.supervision.notices(DUTY, STREET, NoticeKind.CIRCULATE)[0]
    assert (notice.staff, notice.order_ids, notice.automatic) == ("M1", tuple(ids), True)
    assert (
        notice.note
        == f"李思远 近 7 天内所办工单超期 3 次（涉及工单 #{ids[0]}、#{ids[1]}、#{ids[2]}），予以通报"
    )
    assert entries(center, ids[2], "circulated") == [f"通报（系统自动）：{notice.note}"]
    center.supervision.pump()  # reads the circulation's own entry: nothing more
    assert center.supervision.pump() == 0
    assert len(notices(center, NoticeKind.CIRCULATE)) == 1
    clock.advance(minutes=1)
    for oid in ids[:2]:
        center.orders.respond(M1, oid)
        center.orders.arrive(M1, oid, SITE)
    clock.advance(minutes=9)
    fire(center, clock)  # 16 min: the third order arrives late: one since the last notice
    center.supervision.pump()
    assert len(notices(center, NoticeKind.CIRCULATE)) == 1
    clock.advance(minutes=22)
    fire(center, clock)  # 38 min: the first two are not handled in 30 minutes: three since
    center.supervision.pump()
    again = notices(center, NoticeKind.CIRCULATE)
    assert len(again) == 2 and again[1][1] == tuple(ids)  # the third, then the first two


def test_only_supervisors_urge_and_only_live_orders(center: Center, clock: ManualClock) -> None:
    oid = new_order(center)
    with pytest.raises(PermissionDenied):
        center.supervision.urge(M1, oid, "快点")
    with pytest.raises(InvalidInput):
        center.supervision.urge(DUTY, oid, "  ")
    center.orders.respond(M1, oid)
    center.orders.arrive(M1, oid, SITE)
    center.orders.handle(M1, oid, "已修复")
    center.orders.close_loop(DESK, oid, "已回访")
    with pytest.raises(IllegalTransition):
        center.supervision.urge(DUTY, oid, "快点")
    assert notices(center) == []


def test_a_circulated_notice_by_hand_names_its_orders_on_their_timelines(center: Center) -> None:
    first, second = new_order(center), new_order(center, "愚园路1号")
    notice = center.supervision.circulate(
        DUTY, STREET, [second, first], "两件工单先联不及时，予以通报", staff="M1"
    )
    assert (notice.order_ids, notice.staff, notice.automatic, notice.issued_by_name) == (
        (first, second),
        "M1",
        False,
        "周强",
    )
    for oid in (first, second):
        assert entries(center, oid, "circulated") == ["通报：两件工单先联不及时，予以通报"]
    with pytest.raises(InvalidInput, match="不存在"):
        center.supervision.circulate(DUTY, STREET, [first, 999], "通报")
    with pytest.raises(InvalidInput, match="人员"):
        center.supervision.circulate(DUTY, STREET, [first], "通报", staff="NOBODY")
    with pytest.raises(PermissionDenied):
        center.supervision.circulate(M1, STREET, [first], "通报")
    assert len(notices(center)) == 1  # the refused ones left nothing


def test_the_thresholds_are_data_checked_as_a_whole(center: Center) -> None:
    assert center.supervision.get_rules(DESK, STREET).to_dict() == {
        "urge_after_late": 2,
        "circulate_after_urges": 2,
        "circulate_person_late": 5,
        "circulate_window_days": 7,
    }
    with pytest.raises(ImportRejected) as caught:
        center.supervision.set_rules(
            ADMIN, STREET, {"urge_after_late": 0, "circulate_window_days": "7", "x": 1}
        )
    assert len(caught.value.details["errors"]) == 3
    assert center.supervision.get_rules(DESK, STREET).urge_after_late == 2
