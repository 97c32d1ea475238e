"""Order use cases on a real database: intake, dispatch by A/B and roster, permissions, idempotency."""

from __future__ import annotations

import threading

import pytest

from builders import DOG
from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, Role
from chengyun.domain.dispatch import RoutingRules, Strategy
from chengyun.domain.errors import (
    Conflict,
    IllegalTransition,
    ImportRejected,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact, OrderState
from chengyun.domain.sla import Stage
from chengyun.services.ports import OrderQuery
from street import ADMIN, STREET, Recorder, person, tile

HOTLINE = person(Role.HOTLINE_SYSTEM)
DESK = person(Role.HOTLINE_HANDLER, "H1", "孙丽")
M1, M2, M3 = (person(Role.AREA_MANAGER, s) for s in ("M1", "M2", "M3"))
DUTY = person(Role.DUTY_OFFICER, "O1", "周强")


def test_an_address_is_located_and_the_order_goes_to_the_a_manager_on_duty(center: Center) -> None:
    order = center.orders.create(HOTLINE, tile()).order
    assert (order.location.area, order.location.grid, order.location.building) == ("A1", "A1-G1", "B1")
    assert order.location.point == Point(121.442, 31.225)
    assert (order.state, order.assignee) == (OrderState.DISPATCHED, "M1")
    timeline = center.orders.timeline(DESK, order.id or 0)
    assert [e.kind for e in timeline] == ["received", "first_contact_task", "dispatched"]
    assert timeline[1].note == "先联：请受理员 陆佳颖 于 09:05 前（5 分钟内）联系诉求人"
    assert timeline[2].note == "派遣给 A 角 李思远（人行道板，责任部门：市容所）"


def test_when_a_is_off_shift_the_b_partner_gets_the_order(center: Center, clock: ManualClock) -> None:
    clock.advance(hours=4)  # 13:00: M1 went home at 12:00, M2 is the area's manager now
    order = center.orders.create(HOTLINE, tile()).order
    assert order.assignee == "M2"
    dispatched = center.orders.timeline(DESK, order.id or 0)[-1]
    assert dispatched.note == "A 角 李思远 不在班，转 B 角 陆佳颖（人行道板，责任部门：市容所）"


def test_a_point_is_located_to_its_area(center: Center) -> None:
    order = center.orders.create(HOTLINE, tile(address=None, point=Point(121.4471, 31.2251))).order
    assert (order.location.area, order.location.building, order.assignee) == ("A2", "B2", "M3")


def test_a_point_outside_the_street_is_refused_and_nothing_is_stored(center: Center) -> None:
    with pytest.raises(InvalidInput, match="不在本街道") as refused:
        center.orders.create(HOTLINE, tile(address=None, point=Point(121.50, 31.25)))
    assert refused.value.details["code"] == "outside_street"
    assert center.orders.search(DESK, OrderQuery()).total == 0


def test_an_unknown_address_stays_unlocated_for_the_handler_to_dispatch(center: Center) -> None:
    order = center.orders.create(HOTLINE, tile(address="火星路1号")).order
    assert order.location.area is None and order.state is OrderState.RECEIVED
    with pytest.raises(InvalidInput, match="居民区"):
        center.orders.dispatch(DESK, order.id or 0, None)
    with pytest.raises(InvalidInput, match="A9"):
        center.orders.dispatch(DESK, order.id or 0, None, area="A9")
    moved = center.orders.dispatch(DESK, order.id or 0, None, "核实地址后派单", area="A2")
    assert (moved.location.area, moved.assignee) == ("A2", "M3")


@pytest.mark.parametrize(
    ("change", "message"),
    [({"category": "999999"}, "类别"), ({"source": "pigeon"}, "来源"), ({"area": "A9"}, "居民区 A9 不存在")],
)
def test_bad_orders_are_refused_with_a_reason(
    center: Center, change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        center.orders.create(HOTLINE, tile(**change))


def test_the_category_default_colour_and_policy_apply(center: Center) -> None:
    order = center.orders.create(HOTLINE, tile(category="040101", description="路面塌陷一个大坑")).order
    assert order.colour.value == "red" and order.policy_code == "51530-red"


def test_a_retried_request_with_the_same_key_returns_the_first_order(center: Center) -> None:
    first = center.orders.create(HOTLINE, tile(), idempotency_key="12345-0001")
    again = center.orders.create(HOTLINE, tile(), idempotency_key="12345-0001")
    assert not first.replayed and again.replayed
    assert again.order.id == first.order.id
    assert center.orders.search(DESK, OrderQuery()).total == 1


def test_the_same_key_with_another_body_is_a_conflict(center: Center) -> None:
    center.orders.create(HOTLINE, tile(), idempotency_key="k")
    with pytest.raises(Conflict, match="Idempotency-Key"):
        center.orders.create(HOTLINE, tile(description="另一件事"), idempotency_key="k")


def test_concurrent_retries_with_one_key_create_one_order(center: Center) -> None:
    results: list[int] = []
    errors: list[Exception] = []

    def submit() -> None:
        try:
            results.append(center.orders.create(HOTLINE, tile(), idempotency_key="race").order.id or 0)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 6
    assert center.orders.search(DESK, OrderQuery()).total == 1


def test_keys_are_per_client(center: Center) -> None:
    a = center.orders.create(HOTLINE, tile(), idempotency_key="same").order
    b = center.orders.create(DESK, tile(), idempotency_key="same").order
    assert a.id != b.id


def test_the_whole_lifecycle_through_the_service(
    center: Center, clock: ManualClock, recorder: Recorder
) -> None:
    order_id = center.orders.create(HOTLINE, tile()).order.id or 0
    clock.advance(minutes=2)
    center.orders.respond(DESK, order_id, "先联：已电话联系唐女士")
    clock.advance(minutes=8)
    center.orders.arrive(M1, order_id, Point(121.4421, 31.2251), "已到场")
    clock.advance(minutes=15)
    center.orders.handle(M1, order_id, "联系商场负责人，翘起的地砖已重新铺设")
    clock.advance(minutes=10)
    center.orders.close_loop(person(Role.CHIEF_RESPONDER, "R1"), order_id, "回访唐女士，表示满意")
    closed = center.orders.close(DESK, order_id)
    assert closed.state is OrderState.CLOSED
    assert all(c.on_time for c in closed.clocks.values())
    assert recorder.kinds(order_id) == [
        "received",
        "first_contact_task",
        "dispatched",
        "responded",
        "arrived",
        "handled",
        "loop_closed",
        "closed",
    ]
    stored = center.orders.get(DESK, order_id)
    assert stored.state is OrderState.CLOSED and stored.version == 6


def test_an_area_manager_may_not_act_on_another_managers_order(center: Center) -> None:
    order_id = center.orders.create(HOTLINE, tile()).order.id or 0
    with pytest.raises(PermissionDenied, match="承办人"):
        center.orders.respond(M3, order_id)
    with pytest.raises(PermissionDenied):
        center.orders.suspend(M1, order_id, "我想挂账")
    assert center.orders.get(DESK, order_id).state is OrderState.DISPATCHED


def test_other_streets_cannot_see_the_order(center: Center) -> None:
    order_id = center.orders.create(HOTLINE, tile()).order.id or 0
    outsider = person(Role.DIRECTOR, "X1").__class__(
        Role.DIRECTOR, frozenset({"elsewhere"}), "X1", "外街主任"
    )
    with pytest.raises(NotFound):
        center.orders.get(outsider, order_id)
    with pytest.raises(NotFound):
        center.orders.suspend(outsider, order_id, "越权")
    assert center.orders.search(outsider, OrderQuery()).total == 0


def test_systems_may_create_but_sensors_may_not_read(center: Center) -> None:
    sensor = person(Role.SENSOR_SYSTEM)
    order_id = center.orders.create(sensor, tile(source="sensor")).order.id or 0
    with pytest.raises(PermissionDenied):
        center.orders.get(sensor, order_id)


def test_merging_a_duplicate_through_the_service(center: Center, recorder: Recorder) -> None:
    first = center.orders.create(HOTLINE, tile()).order.id or 0
    second = center.orders.create(HOTLINE, tile(complainant=Contact("王先生", "13900001111"))).order.id or 0
    center.orders.merge(DESK, second, first, "同一块地砖")
    target = center.orders.get(DESK, first)
    assert [c.name for c in target.complainants] == ["唐女士", "王先生"]
    assert center.orders.get(DESK, second).merged_into == first
    assert recorder.kinds(first)[-1] == "duplicate_merged"


def test_an_illegal_move_through_the_service_changes_nothing(center: Center) -> None:
    order_id = center.orders.create(HOTLINE, tile()).order.id or 0
    with pytest.raises(IllegalTransition):
        center.orders.close(DESK, order_id)
    assert len(center.orders.timeline(DESK, order_id)) == 3


def test_search_filters_by_state_area_and_overdue(center: Center, clock: ManualClock) -> None:
    a1 = center.orders.create(HOTLINE, tile()).order.id or 0
    center.orders.create(HOTLINE, tile(address="南京西路1618号"))
    center.orders.respond(DESK, a1)
    clock.advance(minutes=6)
    assert [o.id for o in center.orders.search(DESK, OrderQuery(area="A1")).items] == [a1]
    overdue = center.orders.search(DESK, OrderQuery(overdue_at=clock.now())).items
    assert [o.location.area for o in overdue] == ["A2"]
    responded = center.orders.search(DESK, OrderQuery(states=[OrderState.RESPONDED])).items
    assert [o.id for o in responded] == [a1]


def test_an_order_for_a_street_that_does_not_exist_is_refused(center: Center) -> None:
    district_admin = Actor(Role.ADMIN, frozenset(), None, "区管理员", "district")
    with pytest.raises(InvalidInput, match="街道 nowhere 不存在"):
        center.orders.create(district_admin, tile(street="nowhere"))
    assert center.orders.create(district_admin, tile(street=STREET)).order.street == STREET


def test_a_bad_catalogue_is_refused_row_by_row_and_nothing_is_stored(center: Center) -> None:
    rows = [DOG, {"code": "990002"}, DOG | {"colour": "purple"}, DOG | {"code": "990003", "policy": "none"}]

    with pytest.raises(ImportRejected) as refused:
        center.orders.set_categories(ADMIN, STREET, rows)

    assert [e["row"] for e in refused.value.details["errors"]] == [1, 2, 3]
    with center.uow() as uow:
        assert uow.config.categories(STREET) == []
    with pytest.raises(PermissionDenied):
        center.orders.set_categories(DESK, STREET, [DOG])


# --- 改派: reassigning an order its holder has not reached ------------------------------------------

B1 = Point(121.442, 31.225)  # 愚园路608弄6号


def responded_order(center: Center) -> int:
    order = center.orders.create(HOTLINE, tile()).order  # to M1
    assert order.id is not None and order.assignee == "M1"
    center.orders.respond(DESK, order.id, "先联：已电话联系诉求人")
    return order.id


def test_the_duty_officer_reassigns_a_responded_order_with_a_reason(center: Center) -> None:
    order_id = responded_order(center)
    with pytest.raises(PermissionDenied):
        center.orders.reassign(M1, order_id, "M2", "我去不了")  # the holder returns it instead
    with pytest.raises(InvalidInput, match="改派原因"):
        center.orders.reassign(DUTY, order_id, "M2", " ")
    with pytest.raises(InvalidInput, match="人员 X9 不存在"):
        center.orders.reassign(DUTY, order_id, "X9", "换人")
    order = center.orders.reassign(DUTY, order_id, "M2", "李思远在另一处现场，无法按时到场")
    assert (order.state, order.assignee) == (OrderState.RESPONDED, "M2")
    assert order.clocks[Stage.RESPOND].on_time is True  # the first contact stands
    entry = center.orders.timeline(DESK, order_id)[-1]
    assert (entry.kind, entry.actor, entry.note) == (
        "reassigned",
        "O1",
        "改派给 陆佳颖：李思远在另一处现场，无法按时到场",
    )
    assert (entry.data["previous"], entry.data["assignee"]) == ("M1", "M2")


def test_reassigning_without_a_name_lets_routing_choose_someone_else(center: Center) -> None:
    order_id = responded_order(center)
    order = center.orders.reassign(DESK, order_id, None, "承办人不在班")
    assert order.assignee == "M2"
    assert center.orders.timeline(DESK, order_id)[-1].note == (
        "改派给 陆佳颖：承办人不在班；A 角 李思远 即原承办人，转 B 角 陆佳颖"
    )


def test_an_order_on_site_cannot_be_reassigned(center: Center) -> None:
    order_id = responded_order(center)
    center.orders.arrive(M1, order_id, B1)
    with pytest.raises(IllegalTransition, match="不能执行「改派」"):
        center.orders.reassign(DUTY, order_id, "M2", "换人")


def test_the_dispatcher_reassigns_an_order_its_holder_cannot_reach_in_time(
    center: Center, clock: ManualClock
) -> None:
    center.directory.check_in(M1, B1, clock.now())
    center.directory.check_in(M2, Point(121.4425, 31.2252), clock.now())  # 70 m away, on the hotline
    first = center.orders.create(HOTLINE, tile()).order
    second = center.orders.create(HOTLINE, tile(description="愚园路608弄6号门口地砖松动")).order
    assert first.id is not None and second.id is not None and first.assignee == "M1"
    center.orders.dispatch(DESK, second.id, "M1", "受理员指定李思远")  # M1 is to do both
    center.orders.respond(DESK, second.id, "先联：已电话联系诉求人")
    center.orders.respond(M1, first.id)
    center.orders.arrive(M1, first.id, B1)  # working on the first for a while
    clock.advance(minutes=1)
    assert center.orders.relieve_late(STREET) == 1
    order = center.orders.get(DESK, second.id)
    assert (order.state, order.assignee) == (OrderState.RESPONDED, "M2")
    entry = center.orders.timeline(DESK, second.id)[-1]
    assert (entry.kind, entry.actor) == ("reassigned", "system")
    left = int((order.clocks[Stage.ARRIVE].due_at - clock.now()).total_seconds() // 60)
    # 15 minutes for the order on site, 2.5 to set off, no walk: 17.5.
    assert entry.note == (
        f"改派给 陆佳颖：李思远 预计约 18 分钟后才能到场（到场时限还剩 {left} 分钟），"
        "自动改派；A 角 李思远 即原承办人，转 B 角 陆佳颖（步行约 1 分钟）"
    )
    assert center.orders.relieve_late(STREET) == 0  # M2 has nothing ahead of it


def test_the_servers_deadline_worker_reassigns_late_orders_each_minute_of_its_clock(
    center: Center, clock: ManualClock
) -> None:
    worker = center.worker  # the server's deadline worker, as `chengyun serve` and `worker` run it
    assert worker.relieve_if_due() == 0  # a first look: nothing in hand; the next one a minute on
    center.directory.check_in(M1, B1, clock.now())
    center.directory.check_in(M2, Point(121.4425, 31.2252), clock.now())
    first = center.orders.create(HOTLINE, tile()).order
    second = center.orders.create(HOTLINE, tile(description="愚园路608弄6号门口地砖松动")).order
    assert first.id is not None and second.id is not None
    center.orders.dispatch(DESK, second.id, "M1", "受理员指定李思远")
    center.orders.respond(DESK, second.id, "先联：已电话联系诉求人")
    center.orders.respond(M1, first.id)
    center.orders.arrive(M1, first.id, B1)
    clock.advance(seconds=30)
    assert worker.relieve_if_due() == 0  # half a minute since its last look: not yet
    assert center.orders.get(DESK, second.id).assignee == "M1"
    clock.advance(seconds=30)
    assert worker.relieve_if_due() == 1
    assert worker.relieved == 1
    order = center.orders.get(DESK, second.id)
    assert (order.state, order.assignee) == (OrderState.RESPONDED, "M2")
    assert center.orders.timeline(DESK, second.id)[-1].kind == "reassigned"


def test_the_naive_dispatcher_never_reassigns(center: Center, clock: ManualClock) -> None:
    center.orders.routing = RoutingRules(strategy=Strategy.A_ONLY)
    center.directory.check_in(M1, B1, clock.now())
    first = center.orders.create(HOTLINE, tile()).order
    second = center.orders.create(HOTLINE, tile(description="愚园路608弄6号门口地砖松动")).order
    assert first.id and second.id and first.assignee == second.assignee == "M1"
    center.orders.respond(M1, first.id)
    center.orders.arrive(M1, first.id, B1)
    clock.advance(minutes=1)
    assert center.orders.relieve_late(STREET) == 0
