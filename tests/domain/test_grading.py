"""Five-colour grading: each factor alone, factors together, the cap, manual grades and what the rule
set accepts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from builders import RED_POLICY, T0, an_order, at, dispatched
from chengyun.domain.errors import IllegalTransition, ImportRejected
from chengyun.domain.grading import (
    DEFAULT_GRADING,
    DEFAULT_GRADING_DATA,
    DeadlineState,
    Facts,
    GradingRules,
    ManualGrade,
    deadline_state,
    mentions,
)
from chengyun.domain.orders import Who
from chengyun.domain.severity import Colour, most_severe
from chengyun.domain.sla import DEFAULT_POLICIES

POLICY = DEFAULT_POLICIES.get("51530")
NOON = T0.replace(hour=12)
NIGHT = T0.replace(hour=23, minute=30)


def facts(**changes: Any) -> Facts:
    """A plain pavement complaint (人行道板, yellow by default) on a weekday morning, nothing around it."""
    values: dict[str, Any] = {
        "category": "200101",
        "default": Colour.YELLOW,
        "source": "hotline",
        "text": "人行道地砖松动",
        "address": "愚园路608弄6号",
        "received_at": T0,
    }
    return Facts(**(values | changes))


def colour(**changes: Any) -> Colour:
    return DEFAULT_GRADING.grade(facts(**changes)).colour


def rules(*items: dict[str, Any], **settings: Any) -> GradingRules:
    return GradingRules.from_dict({"rules": list(items), **settings})


# --- the scale ----------------------------------------------------------------------------------


def test_raising_moves_towards_red_and_stops_at_either_end() -> None:
    assert Colour.BLUE.raised(1) is Colour.YELLOW
    assert Colour.BLUE.raised(2) is Colour.ORANGE
    assert Colour.ORANGE.raised(3) is Colour.RED
    assert Colour.GREEN.raised(-1) is Colour.GREEN
    assert most_severe(Colour.BLUE, None, Colour.ORANGE, Colour.GREEN) is Colour.ORANGE


# --- each factor ----------------------------------------------------------------------------------


def test_a_plain_report_keeps_its_categorys_default_colour() -> None:
    grade = DEFAULT_GRADING.grade(facts())
    assert (grade.colour, grade.causes) == (Colour.YELLOW, ())
    assert grade.explain(facts()) == "类别默认黄色（Ⅲ级）"


def test_a_sensor_alarms_level_is_where_grading_starts_when_more_severe() -> None:
    assert colour(reported=Colour.RED) is Colour.RED
    assert colour(reported=Colour.GREEN) is Colour.YELLOW  # never below the category's default
    grade = DEFAULT_GRADING.grade(facts(reported=Colour.ORANGE))
    assert grade.explain(facts(reported=Colour.ORANGE)) == "类别默认黄色（Ⅲ级）；上报等级橙色（Ⅱ级）"


def test_an_injury_in_the_complaint_makes_it_at_least_orange() -> None:
    text = "商场门口人行道大理石地砖翘起，我晚上路过绊倒了手臂受伤"
    grade = DEFAULT_GRADING.grade(facts(text=text))
    assert grade.colour is Colour.ORANGE
    assert [c.code for c in grade.causes] == ["injury"]
    assert grade.explain(facts(text=text)) == "类别默认黄色（Ⅲ级）；有人受伤：至少橙色（Ⅱ级）"


def test_a_negated_injury_is_no_injury_but_a_careless_one_is() -> None:
    assert colour(text="地砖松动，所幸没有人受伤") is Colour.YELLOW
    assert colour(text="井盖翘起，暂未造成人员受伤") is Colour.YELLOW
    assert colour(text="井盖翘起，老人不小心摔伤了") is Colour.ORANGE
    assert colour(text="无人受伤，但是另一位老人被绊倒骨折") is Colour.ORANGE  # negation is per mention


def test_danger_to_life_is_red_whatever_the_category() -> None:
    assert (
        colour(category="900199", default=Colour.BLUE, text="电梯困人，有人被困在里面呼吸困难") is Colour.RED
    )


def test_a_historic_building_raises_building_problems_only() -> None:
    assert colour(category="500102", historic=True) is Colour.ORANGE  # 房屋外立面, yellow → orange
    assert colour(category="900101", default=Colour.BLUE, historic=True) is Colour.BLUE  # noise: not about it
    assert colour(category="500102", text="这栋老洋房外墙开裂") is Colour.ORANGE  # said in words


def test_a_school_nearby_raises_by_place_data_or_by_words() -> None:
    assert colour(nearby={"school": 120.0}) is Colour.ORANGE
    assert colour(nearby={"school": 400.0}) is Colour.YELLOW  # too far
    assert colour(text="小学校门口的人行道地砖松动") is Colour.ORANGE


def test_crowds_raise_by_a_busy_place_nearby_or_by_words() -> None:
    assert colour(nearby={"metro": 40.0}) is Colour.ORANGE
    assert colour(text="地砖翘起，很多人围观") is Colour.ORANGE


def test_a_main_road_raises_by_address_or_distance_but_not_in_a_lane_off_it() -> None:
    main = GradingRules.from_dict(DEFAULT_GRADING_DATA | {"main_roads": ["南京西路"]})
    assert main.grade(facts(address="南京西路1618号")).colour is Colour.ORANGE
    assert main.grade(facts(address="南京西路华山路口")).colour is Colour.ORANGE
    assert main.grade(facts(address="南京西路1025弄3号")).colour is Colour.YELLOW
    assert main.grade(facts(address="", roads={"南京西路": 12.0})).colour is Colour.ORANGE
    assert main.grade(facts(address="", roads={"南京西路": 60.0})).colour is Colour.YELLOW
    assert (
        DEFAULT_GRADING.grade(facts(address="南京西路1618号")).colour is Colour.YELLOW
    )  # no main roads named


def test_night_raises_night_sensitive_categories_in_local_time() -> None:
    assert colour(category="100101", received_at=NIGHT) is Colour.ORANGE  # 上水井盖 at 23:30
    assert colour(category="100101", received_at=T0.replace(hour=5, minute=59)) is Colour.ORANGE
    assert colour(category="100101", received_at=T0.replace(hour=6)) is Colour.YELLOW
    assert colour(received_at=NIGHT) is Colour.YELLOW  # pavement tiles: not a night rule category


def test_the_meal_peak_raises_e_bikes_on_the_pavement() -> None:
    assert colour(category="050104", received_at=NOON) is Colour.ORANGE  # 非机动车乱停放 at 12:00
    assert colour(category="050104", received_at=T0) is Colour.YELLOW


def test_weekdays_limit_a_time_rule() -> None:
    weekend = rules({"code": "w", "name": "周末", "factor": "time", "weekdays": [6, 7], "raise": 1})
    assert weekend.grade(facts()).colour is Colour.YELLOW  # T0 is a Wednesday
    assert weekend.grade(facts(received_at=T0 + timedelta(days=3))).colour is Colour.ORANGE


def test_reported_again_raises_and_often_raises_more() -> None:
    assert colour(default=Colour.BLUE, category="010101", repeats=0) is Colour.BLUE
    assert colour(default=Colour.BLUE, category="010101", repeats=1) is Colour.YELLOW
    assert colour(default=Colour.BLUE, category="010101", repeats=3) is Colour.ORANGE


def test_the_deadline_state_raises_once_overdue_and_escalation_makes_it_at_least_orange() -> None:
    assert colour(deadline=DeadlineState.NEAR) is Colour.YELLOW  # the built-in set does not act on "near"
    assert colour(default=Colour.BLUE, deadline=DeadlineState.OVERDUE) is Colour.YELLOW
    assert colour(default=Colour.GREEN, deadline=DeadlineState.ESCALATED) is Colour.ORANGE
    near = rules({"code": "n", "name": "临期", "factor": "deadline", "deadline": "near", "raise": 1})
    assert near.grade(facts(deadline=DeadlineState.NEAR)).colour is Colour.ORANGE
    assert near.grade(facts(deadline=DeadlineState.OVERDUE)).colour is Colour.ORANGE  # later states match


# --- combinations ---------------------------------------------------------------------------------


def test_raises_add_up_to_the_cap_and_floors_apply_after_it() -> None:
    many = facts(category="100101", received_at=NIGHT, nearby={"school": 10.0, "metro": 10.0}, repeats=5)
    grade = DEFAULT_GRADING.grade(many)
    assert {c.code for c in grade.causes} == {"school", "crowd", "night", "repeat", "repeat_often"}
    assert grade.colour is Colour.RED  # yellow + at most 2 levels
    capped = GradingRules.from_dict(DEFAULT_GRADING_DATA | {"max_raise": 1})
    assert capped.grade(many).colour is Colour.ORANGE
    floor_only = capped.grade(facts(category="100101", received_at=NIGHT, text="有人被困", repeats=3))
    assert floor_only.colour is Colour.RED  # a floor is not capped


def test_the_explanation_names_every_cause() -> None:
    f = facts(category="050104", received_at=NOON, repeats=1)
    grade = DEFAULT_GRADING.grade(f)
    assert grade.colour is Colour.RED
    assert grade.explain(f) == "类别默认黄色（Ⅲ级）；用餐高峰：提高 1 级；重复反映：提高 1 级"


def test_qualifiers_must_all_hold() -> None:
    rule = rules(
        {
            "code": "cafe",
            "name": "午间商场门口",
            "factor": "affected",
            "near": ["mall"],
            "within_m": 50,
            "categories": ["0501"],
            "sources": ["patrol"],
            "hours": ["11:00-14:00"],
            "raise": 2,
        }
    )
    hit = facts(category="050102", source="patrol", received_at=NOON, nearby={"mall": 20.0})
    assert rule.grade(hit).colour is Colour.RED
    for miss in (
        {"source": "hotline"},
        {"received_at": T0},
        {"category": "200101"},
        {"nearby": {"mall": 80.0}},
    ):
        assert rule.grade(facts(**(vars(hit) | miss))).colour is Colour.YELLOW, miss


# --- manual grades and sticky rises ---------------------------------------------------------------


def test_a_rise_from_the_deadline_state_is_kept_once_given() -> None:
    first = DEFAULT_GRADING.grade(facts(deadline=DeadlineState.OVERDUE))
    assert first.dynamic == {"overdue"} and first.colour is Colour.ORANGE
    later = DEFAULT_GRADING.grade(facts(deadline=None), sticky=first.dynamic)  # the late stage got done
    assert later.colour is Colour.ORANGE


def test_a_manual_grade_stands_against_what_the_grader_already_knew() -> None:
    f = facts(text="有人受伤", deadline=DeadlineState.OVERDUE)
    known = DEFAULT_GRADING.grade(f)
    assert known.colour is Colour.ORANGE  # yellow raised one level, and at least orange
    manual = ManualGrade(Colour.BLUE, absorbed=known.dynamic)
    grade = DEFAULT_GRADING.grade(f, sticky=known.dynamic, manual=manual)
    assert (grade.colour, grade.causes, grade.manual) == (Colour.BLUE, (), True)
    assert grade.explain(f) == "人工定级蓝色（Ⅳ级）"


def test_after_a_manual_grade_only_new_repetition_or_lateness_raises_it() -> None:
    manual = ManualGrade(Colour.BLUE)
    grade = DEFAULT_GRADING.grade(facts(text="有人受伤", received_at=NIGHT, category="100101"), manual=manual)
    assert grade.colour is Colour.BLUE  # words, place and time were the person's to judge
    late = DEFAULT_GRADING.grade(facts(deadline=DeadlineState.ESCALATED), manual=manual)
    assert late.colour is Colour.ORANGE and {c.code for c in late.causes} == {"overdue", "escalated"}
    assert (
        late.explain(facts()) == "人工定级蓝色（Ⅳ级）；办理超期：提高 1 级；超期升级至值班长：至少橙色（Ⅱ级）"
    )


# --- the deadline state of an order ---------------------------------------------------------------


def test_an_orders_deadline_state_follows_its_clocks_and_escalation() -> None:
    order = dispatched(an_order())
    assert deadline_state(order, POLICY, at(3)) is None
    assert deadline_state(order, POLICY, at(4)) is DeadlineState.NEAR  # 80 % of the 5-minute response
    assert deadline_state(order, POLICY, at(5.5)) is DeadlineState.OVERDUE
    order.respond(at(6), Who("m1", "李专管"), POLICY)
    assert deadline_state(order, POLICY, at(7)) is DeadlineState.OVERDUE  # responded late this round
    order.escalation_level = 2
    assert deadline_state(order, POLICY, at(7)) is DeadlineState.ESCALATED


def test_an_unanswered_supervision_past_its_reply_time_is_overdue() -> None:
    order = dispatched(an_order(policy=RED_POLICY))
    order.respond(at(1), Who("m1", "李专管"), RED_POLICY)
    order.arrive(at(2), Who("m1", "李专管"), RED_POLICY, order.location.point)  # type: ignore[arg-type]
    order.supervise(at(3), Who("d1", "陈主任"), "请加快", 10)
    assert deadline_state(order, RED_POLICY, at(12)) is None
    assert deadline_state(order, RED_POLICY, at(14)) is DeadlineState.OVERDUE


# --- the words ------------------------------------------------------------------------------------


def test_a_negation_counts_only_within_its_own_clause() -> None:
    assert mentions("有人受伤", "受伤")
    assert not mentions("没有人受伤", "受伤")
    assert mentions("没有井盖，有人受伤", "受伤")  # the comma ends the negated clause
    assert not mentions("一切正常", "受伤")


# --- the rule set as data -------------------------------------------------------------------------


def test_the_built_in_set_round_trips_through_its_json() -> None:
    again = GradingRules.from_dict(DEFAULT_GRADING.to_dict())
    assert again == DEFAULT_GRADING


def test_a_bad_rule_set_is_refused_as_a_whole_with_every_problem_named() -> None:
    good = {"code": "ok", "name": "正常", "factor": "time", "hours": ["22:00-06:00"], "raise": 1}
    bad = [
        good,
        {"code": "ok", "name": "重复", "factor": "time", "hours": ["22:00-06:00"], "raise": 1},
        {"code": "x1", "name": "无效果", "factor": "time", "hours": ["22:00-06:00"]},
        {"code": "x2", "name": "错时段", "factor": "time", "hours": ["25:00-06:00"], "raise": 1},
        {"code": "x3", "name": "缺内容", "factor": "affected", "raise": 1},
        {"code": "x4", "name": "错颜色", "factor": "deadline", "deadline": "late", "at_least": "purple"},
        {"code": "x5", "name": "拼错", "factor": "repetition", "repeats": 2, "rasie": 1},
        {
            "code": "x6",
            "name": "错来源",
            "factor": "time",
            "hours": ["01:00-02:00"],
            "sources": ["fax"],
            "raise": 1,
        },
        "not a rule",
    ]
    with pytest.raises(ImportRejected) as caught:
        GradingRules.from_dict({"rules": bad, "max_raise": 9})
    errors = caught.value.details["errors"]
    assert [e["row"] for e in errors] == [None, 1, 2, 3, 4, 5, 6, 7, 8]
    reasons = " ".join(e["reason"] for e in errors)
    for words in ("max_raise", "编码重复", "raise", "HH:MM", "words", "purple", "rasie", "fax", "对象"):
        assert words in reasons, words


def test_a_new_order_may_be_graded_again_only_before_it_is_stored() -> None:
    order = an_order(colour=Colour.YELLOW)
    order.grade_received(Colour.ORANGE, ("类别默认黄色（Ⅲ级）；重复反映：提高 1 级", [{"code": "repeat"}]))
    received = order.new_entries[0]
    assert order.colour is Colour.ORANGE and received.kind == "received"
    assert (
        received.note == "受理工单（12345热线），定级为橙色（Ⅱ级）：类别默认黄色（Ⅲ级）；重复反映：提高 1 级"
    )
    assert received.data == {"colour": "orange", "causes": [{"code": "repeat"}]}
    order.id = 7
    with pytest.raises(IllegalTransition):
        order.grade_received(Colour.RED, None)
