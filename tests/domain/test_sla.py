"""The 51530 deadlines: stage clocks, warnings, overdue notices and the escalation ladder, with time moved."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import DIRECTOR, MANAGER, PARTNER, POLICY, RED_POLICY, an_order, at, dispatched
from chengyun.domain.errors import InvalidInput
from chengyun.domain.geo import Point
from chengyun.domain.orders import SYSTEM, Who, WorkOrder
from chengyun.domain.severity import Colour
from chengyun.domain.sla import DEFAULT_POLICIES, Anchor, PolicySet, Rung, Stage

SITE = Point(121.4451, 31.2233)
DUTY = Who("o1", "周值班")
LADDER = {Rung.PARTNER: PARTNER, Rung.DUTY_OFFICER: DUTY, Rung.DIRECTOR: DIRECTOR}


def targets(rung: Rung) -> Who | None:
    return LADDER[rung]


def fired(order: WorkOrder, minutes: float) -> list[str]:
    return [e.kind for e in order.fire_alerts(at(minutes), POLICY, targets)]


def test_respond_and_arrive_are_counted_from_receipt() -> None:
    order = an_order()
    assert order.clocks[Stage.RESPOND].due_at == at(5)
    assert order.clocks[Stage.ARRIVE].due_at == at(15)
    assert Stage.HANDLE not in order.clocks and Stage.CLOSE not in order.clocks


def test_handle_is_counted_from_arrival_and_close_from_handling() -> None:
    order = dispatched(an_order())
    order.respond(at(3), MANAGER, POLICY)
    order.arrive(at(12), MANAGER, POLICY, SITE)
    assert order.clocks[Stage.HANDLE].due_at == at(42)
    order.handle(at(30), MANAGER, "已处置", POLICY)
    assert order.clocks[Stage.CLOSE].due_at == at(60)


def test_a_stage_counted_from_the_previous_one_starts_when_that_one_is_done() -> None:
    data = POLICY.to_dict()
    data["stages"][1]["counted_from"] = "previous"
    policy = PolicySet.from_list([data]).policies[0]
    assert policy.rule(Stage.ARRIVE).counted_from is Anchor.PREVIOUS
    order = dispatched(an_order(policy=policy))
    assert Stage.ARRIVE not in order.clocks
    order.respond(at(4), MANAGER, policy)
    assert order.clocks[Stage.ARRIVE].due_at == at(19)


def test_nothing_fires_before_the_warning_share_of_the_deadline() -> None:
    order = dispatched(an_order())
    assert fired(order, 3.9) == []
    assert order.next_alert_at(POLICY) == at(4)


def test_a_warning_fires_at_eighty_percent_and_once_only() -> None:
    order = dispatched(an_order())
    assert fired(order, 4) == ["deadline_warning"]
    assert fired(order, 4.5) == []
    assert "即将超期" in order.new_entries[-1].note


def test_overdue_then_escalation_to_the_partner_when_the_deadline_passes() -> None:
    order = dispatched(an_order())
    assert fired(order, 4.5) == ["deadline_warning"]
    assert fired(order, 5) == ["deadline_overdue", "escalated"]
    escalation = order.new_entries[-1]
    assert escalation.actor == SYSTEM.id
    assert escalation.data["rung"] == "partner" and escalation.data["notify"] == PARTNER.id
    assert PARTNER.name in escalation.note
    assert order.escalation_level == 1


def test_the_ladder_climbs_to_duty_officer_and_director_while_still_undone() -> None:
    order = dispatched(an_order())
    fired(order, 5)
    assert fired(order, 10) == ["escalated"]
    assert order.new_entries[-1].data["notify"] == DUTY.id
    # minute 15: respond's director rung, then arrive's overdue notice and partner rung
    assert fired(order, 15) == ["escalated", "deadline_overdue", "escalated"]
    assert order.escalation_level == 3
    notified = [(e.data["stage"], e.data["notify"]) for e in order.new_entries if e.kind == "escalated"]
    assert notified == [
        ("respond", PARTNER.id),
        ("respond", DUTY.id),
        ("respond", DIRECTOR.id),
        ("arrive", PARTNER.id),
    ]


def test_handle_and_close_stages_warn_and_go_overdue_on_their_own_clocks() -> None:
    order = dispatched(an_order())
    order.respond(at(2), MANAGER, POLICY)
    order.arrive(at(10), MANAGER, POLICY, SITE)  # handle due at 40: warning at 34
    assert fired(order, 33.9) == []
    assert fired(order, 34) == ["deadline_warning"]
    assert fired(order, 40) == ["deadline_overdue", "escalated"]
    order.handle(at(45), MANAGER, "已处置", POLICY)  # close due at 75: warning at 69
    assert fired(order, 68.9) == []
    assert fired(order, 69) == ["deadline_warning"]
    assert fired(order, 75) == ["deadline_overdue", "escalated"]
    stages = [e.data["stage"] for e in order.new_entries if e.kind == "deadline_overdue"]
    assert stages == ["handle", "close"]


def test_a_late_worker_skips_warnings_that_are_already_past_their_deadline() -> None:
    order = dispatched(an_order())
    assert fired(order, 5) == ["deadline_overdue", "escalated"]
    assert "即将超期" not in " ".join(e.note for e in order.new_entries)


def test_firing_late_records_every_missed_alert_once() -> None:
    order = dispatched(an_order())
    kinds = fired(order, 120)
    assert kinds.count("deadline_overdue") == 2  # respond and arrive
    assert fired(order, 121) == []
    assert order.next_alert_at(POLICY) is None


def test_a_done_stage_stops_its_alerts() -> None:
    order = dispatched(an_order())
    order.respond(at(2), MANAGER, POLICY)
    assert fired(order, 6) == []
    assert order.next_alert_at(POLICY) == at(12)  # arrive's warning


def test_nobody_on_duty_is_said_plainly() -> None:
    order = dispatched(an_order())
    order.fire_alerts(at(10), POLICY, lambda rung: None)
    assert "无人在班" in order.new_entries[-1].note


def test_a_closed_or_suspended_order_fires_nothing() -> None:
    order = dispatched(an_order())
    order.suspend(at(1), DIRECTOR, "等待协调")
    assert order.fire_alerts(at(500), POLICY, targets) == []
    assert order.next_due_at() is None


def test_an_unanswered_supervision_fires_once_when_its_reply_is_late() -> None:
    order = dispatched(an_order())
    order.respond(at(1), MANAGER, POLICY)
    order.arrive(at(2), MANAGER, POLICY, SITE)
    order.supervise(at(3), DIRECTOR, "请加快", 10)
    kinds = fired(order, 13)
    assert kinds == ["supervision_overdue"]
    assert fired(order, 14) == []


def test_red_orders_get_tighter_deadlines() -> None:
    policy = DEFAULT_POLICIES.for_order("040101", Colour.RED)
    assert policy is RED_POLICY
    order = an_order(colour=Colour.RED, policy=policy)
    assert order.clocks[Stage.RESPOND].due_at == at(3)
    assert DEFAULT_POLICIES.for_order("040101", Colour.YELLOW).code == "51530"


def test_policies_round_trip_through_their_data_form() -> None:
    again = PolicySet.from_list(DEFAULT_POLICIES.to_list())
    assert again == DEFAULT_POLICIES


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["stages"].pop(), "四个环节"),
        (lambda d: d["stages"][0].update(counted_from="previous"), "受理时起算"),
        (lambda d: d["stages"][2].update(minutes=0), "时限"),
        (lambda d: d.update(warn_share=1.5), "预警比例"),
        (
            lambda d: d.update(
                escalation=[{"share": 2, "rung": "partner"}, {"share": 1, "rung": "director"}]
            ),
            "升级",
        ),
        (lambda d: d["stages"][0].update(stage="lunch"), "格式错误"),
    ],
)
def test_bad_policies_are_refused_with_a_reason(change: object, message: str) -> None:
    data = POLICY.to_dict()
    change(data)  # type: ignore[operator]
    with pytest.raises(InvalidInput, match=message):
        PolicySet.from_list([data])


def test_a_policy_set_needs_a_default_last() -> None:
    red = DEFAULT_POLICIES.policies[0].to_dict()
    with pytest.raises(InvalidInput, match="默认"):
        PolicySet.from_list([red])


def test_overdue_is_a_function_of_time() -> None:
    order = dispatched(an_order())
    assert not order.is_overdue(at(5))
    assert order.is_overdue(at(5) + timedelta(microseconds=1))


def test_a_category_may_name_its_policy_but_a_red_order_keeps_the_red_clock() -> None:
    slow = DEFAULT_POLICIES.to_list()[-1] | {
        "categories": ["9001"],
        "code": "housing",
        "name": "房屋维修",
        "stages": [
            {"stage": "respond", "minutes": 30, "counted_from": "receipt"},
            {"stage": "arrive", "minutes": 120, "counted_from": "receipt"},
            {"stage": "handle", "minutes": 60 * 24, "counted_from": "previous"},
            {"stage": "close", "minutes": 60, "counted_from": "previous"},
        ],
    }
    policies = PolicySet.from_list([*DEFAULT_POLICIES.to_list()[:-1], slow, DEFAULT_POLICIES.to_list()[-1]])
    assert "housing" in policies and "nothing" not in policies
    assert policies.for_order("500102", Colour.BLUE, named="housing").code == "housing"
    assert policies.for_order("500102", Colour.RED, named="housing").code == "51530-red"
    assert policies.for_order("500102", Colour.BLUE, named="gone").code == "51530"
    assert policies.for_order("500102", Colour.BLUE).code == "51530"
    assert policies.for_order("900103", Colour.BLUE).code == "housing"
