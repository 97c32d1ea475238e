"""Intake on a real database: classify, locate, route (leave, workload, check-ins), 先联, duplicates, corrections."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.domain.dispatch import RoutingRules
from chengyun.domain.errors import InvalidInput
from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact, OrderState, TimelineEntry
from street import STREET, T0, person, tile

HOTLINE = person(Role.HOTLINE_SYSTEM)
DESK = person(Role.HOTLINE_HANDLER, "H1", "孙丽")
DUTY = person(Role.DUTY_OFFICER, "O1", "周强")
ADMIN = person(Role.ADMIN)
B1 = Point(121.442, 31.225)  # 愚园路608弄6号, area A1
FAR_CORNER = Point(121.4499, 31.2299)  # about 1.3 km on foot from B1


def entries(center: Center, order_id: int | None, kind: str) -> list[TimelineEntry]:
    return [e for e in center.orders.timeline(DESK, order_id or 0) if e.kind == kind]


def dispatch_note(center: Center, order_id: int | None) -> str:
    return entries(center, order_id, "dispatched")[-1].note


def test_a_hotline_order_gets_a_first_contact_task_for_the_desk_on_duty(center: Center) -> None:
    order = center.orders.create(HOTLINE, tile()).order
    (task,) = entries(center, order.id, "first_contact_task")
    assert task.note == "先联：请受理员 陆佳颖 于 09:05 前（5 分钟内）联系诉求人"
    assert task.data["handler"] == "M2"
    patrol_find = center.orders.create(HOTLINE, tile(source="patrol", complainant=None)).order
    assert entries(center, patrol_find.id, "first_contact_task") == []


def test_a_manager_on_leave_is_passed_over_for_the_b_partner(center: Center) -> None:
    center.directory.add_absence(
        ADMIN, STREET, "M1", T0 - timedelta(hours=1), T0 + timedelta(hours=8), "病假"
    )
    order = center.orders.create(HOTLINE, tile()).order
    assert order.assignee == "M2"
    assert dispatch_note(center, order.id).startswith("A 角 李思远 请假，转 B 角 陆佳颖")
    (absence,) = center.directory.absences(STREET, T0, T0 + timedelta(hours=1))
    center.directory.remove_absence(ADMIN, STREET, absence.id or 0)
    assert center.orders.create(HOTLINE, tile()).order.assignee == "M1"


def test_leave_for_an_unknown_person_or_backwards_is_refused(center: Center) -> None:
    with pytest.raises(InvalidInput, match="不存在"):
        center.directory.add_absence(ADMIN, STREET, "NOBODY", T0, T0 + timedelta(hours=1), "请假")
    with pytest.raises(InvalidInput, match="晚于"):
        center.directory.add_absence(ADMIN, STREET, "M1", T0, T0 - timedelta(hours=1), "请假")


def test_a_manager_with_a_full_hand_is_passed_over(center: Center) -> None:
    center.orders.routing = RoutingRules(max_open_orders=2)
    first, second = (center.orders.create(HOTLINE, tile()).order for _ in range(2))
    assert (first.assignee, second.assignee) == ("M1", "M1")
    third = center.orders.create(HOTLINE, tile()).order
    assert third.assignee == "M2"
    assert "A 角 李思远 在办工单已有 2 件（上限 2 件），转 B 角 陆佳颖" in dispatch_note(center, third.id)


def test_when_a_and_b_cannot_arrive_in_time_the_nearest_field_worker_goes(center: Center) -> None:
    center.directory.check_in(person(Role.AREA_MANAGER, "M1"), FAR_CORNER, T0)
    center.directory.add_absence(ADMIN, STREET, "M2", T0, T0 + timedelta(hours=8), "年假")
    center.directory.check_in(person(Role.AREA_MANAGER, "M4"), Point(121.4425, 31.2252), T0)
    order = center.orders.create(HOTLINE, tile()).order
    assert order.assignee == "M4"
    note = dispatch_note(center, order.id)
    assert note.startswith(
        "A 角 李思远 步行约 19 分钟，连同出发准备约 22 分钟到场（到场时限 15 分钟），B 角 陆佳颖 请假"
    )
    assert "派遣给就近可到场的 赵敏（步行约 1 分钟）" in note


def test_a_patrol_observer_out_on_the_street_takes_an_order_nobody_else_can_reach_in_time(
    center: Center,
) -> None:
    day = T0.date().isoformat()
    center.directory.import_roster(
        ADMIN,
        STREET,
        f"staff,post,start,end,area\nP1,patrol_observer,{day}T08:00:00+08:00,{day}T16:00:00+08:00,\n",
    )
    for staff in ("M1", "M3", "M4"):
        center.directory.check_in(person(Role.AREA_MANAGER, staff), FAR_CORNER, T0)
    center.directory.add_absence(ADMIN, STREET, "M2", T0, T0 + timedelta(hours=8), "年假")
    center.directory.check_in(person(Role.PATROL_OBSERVER, "P1"), Point(121.4425, 31.2252), T0)
    order = center.orders.create(HOTLINE, tile()).order
    assert order.assignee == "P1"
    assert "派遣给就近可到场的 冯巡（步行约 1 分钟）" in dispatch_note(center, order.id)


def test_a_duty_officer_who_also_patrols_is_not_sent_out_from_the_duty_desk(center: Center) -> None:
    center.directory.import_staff(
        ADMIN,
        STREET,
        "id,name,phone,department,posts\nO1,周强,13900000006,chengyun,duty_officer|patrol_observer\n",
    )
    for staff in ("M1", "M3", "M4"):
        center.directory.check_in(person(Role.AREA_MANAGER, staff), FAR_CORNER, T0)
    center.directory.add_absence(ADMIN, STREET, "M2", T0, T0 + timedelta(hours=8), "年假")
    center.directory.check_in(person(Role.DUTY_OFFICER, "O1"), Point(121.4425, 31.2252), T0)
    order = center.orders.create(HOTLINE, tile()).order
    assert order.assignee != "O1"


def test_an_old_check_in_is_not_trusted(center: Center, clock: ManualClock) -> None:
    center.directory.check_in(person(Role.AREA_MANAGER, "M1"), FAR_CORNER, T0)
    clock.advance(minutes=45)
    assert center.orders.create(HOTLINE, tile()).order.assignee == "M1"


def test_arriving_on_site_is_a_check_in(center: Center) -> None:
    manager = person(Role.AREA_MANAGER, "M1", "李思远")
    first = center.orders.create(HOTLINE, tile()).order.id or 0
    center.orders.respond(manager, first)
    center.orders.arrive(manager, first, FAR_CORNER)
    with center.uow() as uow:
        assert uow.people.positions(STREET, T0)["M1"][0] == FAR_CORNER


def test_an_unresolved_address_is_flagged_and_left_for_the_desk(center: Center) -> None:
    order = center.orders.create(HOTLINE, tile(address="火星路1号")).order
    assert (order.location.area, order.state, order.assignee) == (None, OrderState.RECEIVED, None)
    (flag,) = entries(center, order.id, "location_unresolved")
    assert "火星路1号" in flag.note and "请受理员核实" in flag.note


def test_an_order_without_a_category_is_classified_from_its_text(center: Center) -> None:
    order = center.orders.create(HOTLINE, tile(category=None)).order
    assert order.category == "200101"
    (suggested,) = entries(center, order.id, "category_suggested")
    assert suggested.note.startswith("类别由系统识别为「人行道板」")
    assert suggested.data["candidates"][0]["code"] == "200101"


def test_the_same_problem_reported_again_is_proposed_as_a_duplicate_and_merged(center: Center) -> None:
    first = center.orders.create(HOTLINE, tile()).order
    again = center.orders.create(
        HOTLINE,
        tile(
            description="愚园路这边人行道地砖翘起来了，老人差点绊倒",
            complainant=Contact("钱先生", "13900001111"),
        ),
    ).order
    (flag,) = entries(center, again.id, "duplicate_suspected")
    assert f"与工单 {first.id} 同类、同一地点" in flag.note
    assert [p.order_id for p in center.orders.duplicates(DESK, again.id or 0)] == [first.id]
    other_kind = center.orders.create(HOTLINE, tile(category="100118", description="路灯不亮")).order
    assert entries(center, other_kind.id, "duplicate_suspected") == []

    center.orders.merge(DESK, again.id or 0, first.id or 0)
    merged = center.orders.get(DESK, first.id or 0)
    assert {c.name for c in merged.complainants} == {"唐女士", "钱先生"}


def test_a_corrected_category_is_kept_and_becomes_a_training_example(center: Center) -> None:
    order = center.orders.create(HOTLINE, tile()).order
    corrected = center.orders.reclassify(DESK, order.id or 0, "100101", "实为井盖松动")
    assert corrected.category == "100101"
    assert center.orders.get(DESK, order.id or 0).category == "100101"
    with center.uow() as uow:
        examples = uow.examples.list(STREET)
    assert [(e.text, e.code) for e in examples] == [(order.description, "100101")]
    with pytest.raises(InvalidInput, match="不在本街道的类别目录"):
        center.orders.reclassify(DESK, order.id or 0, "999999")
