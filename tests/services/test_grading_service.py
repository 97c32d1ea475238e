"""Grading at work: at intake from the words and the place data, again when a factor changes (category,
duplicates, lateness on a moved clock), a manual grade that stands, the deadline policy of the new
colour, and a dry run of a proposed rule set over past orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.domain.errors import ImportRejected, PermissionDenied
from chengyun.domain.grading import DEFAULT_GRADING_DATA, GradingRules
from chengyun.domain.orders import Contact
from chengyun.domain.severity import Colour
from chengyun.domain.sla import Stage
from chengyun.services.deadlines import fire_due
from street import ADMIN, PLACES, STREET, T0, _feature, person, tile

DESK = person(Role.HOTLINE_HANDLER, "H1")
DUTY = person(Role.DUTY_OFFICER, "O1")
M1 = person(Role.AREA_MANAGER, "M1")
SENSOR = person(Role.SENSOR_SYSTEM)
PLAIN = "商场门口人行道大理石地砖翘起"  # no injury, no school, nothing but the tiles


def add_places(center: Center, *features: dict[str, Any]) -> None:
    """The test street's place data with these points of interest or buildings added (or replaced)."""
    codes = {f["properties"]["code"] for f in features}
    kept = [f for f in PLACES["features"] if f["properties"]["code"] not in codes]  # type: ignore[index]
    collection = {"type": "FeatureCollection", "features": [*kept, *features]}
    center.directory.import_places(ADMIN, STREET, collection)


def kinds(center: Center, order_id: int) -> list[str]:
    return [e.kind for e in center.orders.timeline(DESK, order_id)]


def last(center: Center, order_id: int, kind: str) -> Any:
    return [e for e in center.orders.timeline(DESK, order_id) if e.kind == kind][-1]


def test_an_injury_grades_the_tile_complaint_orange_and_the_received_entry_says_why(center: Center) -> None:
    order = center.orders.create(DESK, tile()).order
    assert order.colour is Colour.ORANGE and order.policy_code == "51530"
    received = last(center, order.id or 0, "received")
    assert (
        received.note
        == "受理工单（12345热线），定级为橙色（Ⅱ级）：类别默认黄色（Ⅲ级）；有人受伤：至少橙色（Ⅱ级）"
    )
    assert received.data["causes"] == [
        {"code": "injury", "name": "有人受伤", "factor": "affected", "effect": "至少橙色（Ⅱ级）"}
    ]


def test_a_plain_complaint_keeps_its_category_colour_and_says_nothing_more(center: Center) -> None:
    order = center.orders.create(DESK, tile(description=PLAIN)).order
    assert order.colour is Colour.YELLOW
    received = last(center, order.id or 0, "received")
    assert received.note == "受理工单（12345热线）" and "causes" not in received.data


def test_a_school_next_door_in_the_place_data_raises_the_colour(center: Center) -> None:
    add_places(
        center, _feature("poi", "S1", "A1", [121.4421, 31.2254], "Point", name="测试小学", poi_kind="school")
    )
    order = center.orders.create(DESK, tile(description=PLAIN)).order
    assert order.colour is Colour.ORANGE
    assert "学校周边：提高 1 级" in last(center, order.id or 0, "received").note


def test_a_historic_building_raises_a_facade_problem(center: Center) -> None:
    historic = _feature(
        "building",
        "B1",
        "A1-G1",
        [121.4420, 31.2250],
        "Point",
        name="608弄6号",
        address="愚园路608弄6号",
        area="A1",
        historic=True,
    )
    add_places(center, historic)
    order = center.orders.create(DESK, tile(category="500102", description="外墙面砖脱落")).order
    assert order.colour is Colour.ORANGE
    assert "涉及历史建筑" in last(center, order.id or 0, "received").note


def test_a_sensor_alarms_level_is_where_grading_starts(center: Center) -> None:
    order = center.orders.create(
        SENSOR,
        tile(
            source="sensor",
            category="040104",
            description="积水深度超限",
            colour=Colour.RED,
            complainant=None,
        ),
    ).order
    assert (order.colour, order.policy_code) == (Colour.RED, "51530-red")


def test_the_same_problem_reported_again_at_the_same_place_is_raised(
    center: Center, clock: ManualClock
) -> None:
    first = center.orders.create(DESK, tile(description=PLAIN)).order
    clock.advance(days=3)
    again = center.orders.create(
        DESK, tile(description="人行道地砖又翘起来了", complainant=Contact("王先生", "13900001111"))
    ).order
    assert (first.colour, again.colour) == (Colour.YELLOW, Colour.ORANGE)
    assert "重复反映：提高 1 级" in last(center, again.id or 0, "received").note
    clock.advance(days=40)
    later = center.orders.create(DESK, tile(description=PLAIN)).order
    assert later.colour is Colour.YELLOW  # the earlier reports are out of the 30-day window


def test_a_merged_duplicate_raises_the_surviving_order(center: Center) -> None:
    target = center.orders.create(DESK, tile(description=PLAIN, address="南京西路1618号")).order
    other = center.orders.create(DESK, tile(description=PLAIN, address="愚园路608弄6号")).order
    assert (target.colour, other.colour) == (Colour.YELLOW, Colour.YELLOW)
    center.orders.merge(DESK, other.id or 0, target.id or 0)
    raised = center.orders.get(DESK, target.id or 0)
    assert raised.colour is Colour.ORANGE
    entry = last(center, raised.id or 0, "colour_raised")
    assert entry.note == "颜色升级 黄色（Ⅲ级） → 橙色（Ⅱ级）：类别默认黄色（Ⅲ级）；重复反映：提高 1 级"
    assert [c["code"] for c in entry.data["causes"]] == ["repeat"]


def test_a_corrected_category_grades_again_and_may_lower_the_colour(center: Center) -> None:
    order = center.orders.create(DESK, tile(category="040101", description="路面塌陷一个大坑")).order
    assert (order.colour, order.policy_code) == (Colour.RED, "51530-red")
    corrected = center.orders.reclassify(DESK, order.id or 0, "200104", "其实是车行道破损")
    assert corrected.colour is Colour.YELLOW
    entry = last(center, order.id or 0, "colour_lowered")
    assert entry.note.startswith("颜色调整 红色（Ⅰ级） → 黄色（Ⅲ级）：类别默认黄色（Ⅲ级）")
    assert corrected.policy_code == "51530"  # stages that start from now on follow the usual policy


def test_overdue_raises_the_colour_exactly_when_the_deadline_passes(
    center: Center, clock: ManualClock
) -> None:
    order = center.orders.create(DESK, tile(description=PLAIN)).order
    oid = order.id or 0

    def fire() -> Colour:
        fire_due(center.uow, clock, center.bus.publish, center.orders)
        return center.orders.get(DESK, oid).colour

    clock.advance(minutes=4)  # 80 % of the 5-minute response: the usual warning, no colour change
    assert fire() is Colour.YELLOW
    assert "deadline_warning" in kinds(center, oid) and "colour_raised" not in kinds(center, oid)
    clock.advance(seconds=59)
    assert fire() is Colour.YELLOW
    clock.advance(seconds=2)  # 5 min 1 s: overdue
    assert fire() is Colour.ORANGE
    entry = last(center, oid, "colour_raised")
    assert entry.at == clock.now() and entry.actor == "system"
    assert entry.note == "颜色升级 黄色（Ⅲ级） → 橙色（Ⅱ级）：类别默认黄色（Ⅲ级）；办理超期：提高 1 级"
    center.orders.respond(M1, oid, "已联系")
    assert center.orders.get(DESK, oid).colour is Colour.ORANGE  # a rise from lateness is kept


def test_a_rise_to_red_keeps_running_deadlines_and_tightens_what_starts_later(
    center: Center, clock: ManualClock
) -> None:
    strict = {
        "code": "51530-red",
        "name": "红色事件",
        "colours": ["red"],
        "stages": [
            {"stage": "respond", "minutes": 3, "counted_from": "receipt"},
            {"stage": "arrive", "minutes": 10, "counted_from": "receipt"},
            {"stage": "handle", "minutes": 10},
            {"stage": "close", "minutes": 10},
        ],
    }
    usual = {
        "code": "51530",
        "name": "51530",
        "stages": [
            {"stage": "respond", "minutes": 5, "counted_from": "receipt"},
            {"stage": "arrive", "minutes": 15, "counted_from": "receipt"},
            {"stage": "handle", "minutes": 30},
            {"stage": "close", "minutes": 30},
        ],
    }
    center.orders.set_policies(ADMIN, STREET, [strict, usual])
    order = center.orders.create(DESK, tile()).order  # orange
    oid = order.id or 0
    arrive_due = order.clocks[Stage.ARRIVE].due_at
    regraded = center.orders.regrade(DUTY, oid, Colour.RED, "围观人员多，存在二次伤害风险")
    assert regraded.policy_code == "51530-red"
    assert regraded.clocks[Stage.ARRIVE].due_at == arrive_due  # promised: 15 minutes, not 10
    assert "此后开始的环节按「红色事件」计时" in last(center, oid, "regraded").note
    center.orders.respond(M1, oid)
    clock.advance(minutes=5)
    on_site = center.orders.arrive(M1, oid, order.location.point)  # type: ignore[arg-type]
    assert on_site.clocks[Stage.HANDLE].due_at == clock.now() + timedelta(minutes=10)


def test_a_manual_grade_stands_until_something_new_happens(center: Center, clock: ManualClock) -> None:
    order = center.orders.create(DESK, tile()).order  # orange for the injury
    oid = order.id or 0
    center.orders.regrade(DUTY, oid, Colour.BLUE, "核实：仅轻微擦伤，已自行处理")
    center.orders.reclassify(DESK, oid, "200102", "是盲道")  # a factor changes: the person's grade stands
    assert center.orders.get(DESK, oid).colour is Colour.BLUE
    clock.advance(minutes=6)
    fire_due(center.uow, clock, center.bus.publish, center.orders)
    raised = center.orders.get(DESK, oid)
    assert raised.colour is Colour.YELLOW  # lateness is new: blue + 1
    assert last(center, oid, "colour_raised").note == (
        "颜色升级 蓝色（Ⅳ级） → 黄色（Ⅲ级）：人工定级蓝色（Ⅳ级）；办理超期：提高 1 级"
    )


def test_lateness_known_when_a_person_graded_does_not_raise_it_again(
    center: Center, clock: ManualClock
) -> None:
    order = center.orders.create(DESK, tile(description=PLAIN)).order
    oid = order.id or 0
    clock.advance(minutes=6)
    fire_due(center.uow, clock, center.bus.publish, center.orders)
    assert center.orders.get(DESK, oid).colour is Colour.ORANGE
    center.orders.regrade(DUTY, oid, Colour.YELLOW, "已联系诉求人，问题不大")
    clock.advance(minutes=3)  # still only the response overdue: taken in by the person's grade
    fire_due(center.uow, clock, center.bus.publish, center.orders)
    assert center.orders.get(DESK, oid).colour is Colour.YELLOW
    clock.advance(minutes=2)  # 11 min: escalated to the duty officer (200 %): that is new
    fire_due(center.uow, clock, center.bus.publish, center.orders)
    assert center.orders.get(DESK, oid).colour is Colour.ORANGE
    assert "超期升级至值班长" in last(center, oid, "colour_raised").note


def test_the_rule_set_is_the_streets_data(center: Center) -> None:
    calm = DEFAULT_GRADING_DATA | {
        "rules": [r for r in DEFAULT_GRADING_DATA["rules"] if r["code"] != "injury"]
    }
    center.grading.set_rules(ADMIN, STREET, calm)
    assert center.orders.create(DESK, tile()).order.colour is Colour.YELLOW
    assert [r.code for r in center.grading.get_rules(DESK, STREET).rules][:2] == ["life", "historic"]
    with pytest.raises(ImportRejected):
        center.grading.set_rules(ADMIN, STREET, {"rules": [{"code": "x"}]})
    with pytest.raises(PermissionDenied):
        center.grading.set_rules(M1, STREET, calm)
    assert center.grading.get_rules(DESK, STREET) == GradingRules.from_dict(calm)  # nothing changed


def test_a_dry_run_says_what_a_proposed_rule_set_would_have_graded(
    center: Center, clock: ManualClock
) -> None:
    injured = center.orders.create(DESK, tile()).order
    plain = center.orders.create(DESK, tile(description=PLAIN, address="南京西路1618号")).order
    manual = center.orders.create(DESK, tile(description=PLAIN, address="愚园路1号", area="A1")).order
    center.orders.regrade(DUTY, manual.id or 0, Colour.GREEN, "物业已处理")
    strict = DEFAULT_GRADING_DATA | {"main_roads": ["南京西路"]}
    report = center.grading.dry_run(
        DUTY, STREET, T0 - timedelta(days=1), T0 + timedelta(days=1), GradingRules.from_dict(strict)
    )
    assert (report.orders, report.changed, report.manual_kept) == (3, 1, 1)
    assert report.actual == {"orange": 1, "yellow": 1, "green": 1}
    assert report.proposed == {"orange": 2, "green": 1}
    assert report.moves == {("yellow", "orange"): 1}
    [change] = report.examples
    assert (change.order_id, change.actual, change.proposed) == (plain.id, Colour.YELLOW, Colour.ORANGE)
    assert "主干道" in change.explanation and report.causes["injury"] == 1
    same = center.grading.dry_run(DUTY, STREET, T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert same.changed == 0 and injured.colour is Colour.ORANGE
    with pytest.raises(PermissionDenied):
        center.grading.dry_run(M1, STREET, T0, T0 + timedelta(days=1))
