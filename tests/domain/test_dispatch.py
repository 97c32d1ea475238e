"""Routing a new order: A, else B, else the nearest available qualified person; every step explained."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chengyun.domain.dispatch import (
    Decision,
    Held,
    RoutingRules,
    StaffStatus,
    Strategy,
    late_holders,
    route,
    walk_metres,
)
from chengyun.domain.geo import Point
from chengyun.domain.staff import ABPair

PAIR_DAY = date(2026, 11, 25)
SITE = Point(121.4450, 31.2250)


def near(metres_east: float) -> Point:
    """A point `metres_east` east of the site."""
    return Point(SITE.lon + metres_east / (111_320.0 * 0.8554), SITE.lat)


PAIR = ABPair("A1", "S1", "S2", 0, date(2026, 1, 5), "JAS")


def people(**changes: dict[str, object]) -> dict[str, StaffStatus]:
    base = {
        "S1": StaffStatus("S1", "李思远", on_duty=True),
        "S2": StaffStatus("S2", "陆佳颖", on_duty=True),
        "S3": StaffStatus("S3", "王建国", on_duty=True, position=near(900)),
        "S4": StaffStatus("S4", "赵敏", on_duty=True, position=near(300)),
        "H1": StaffStatus("H1", "周受理", on_duty=True, position=near(10), field_worker=False),
    }
    for staff_id, fields in changes.items():
        base[staff_id] = StaffStatus(**{**base[staff_id].__dict__, **fields})
    return base


def decide(staff: dict[str, StaffStatus], site: Point | None = SITE, arrive: float = 15) -> Decision:
    return route(PAIR, PAIR_DAY, staff, site, arrive, RoutingRules(max_open_orders=5))


def test_a_on_duty_gets_the_order() -> None:
    decision = decide(people())
    assert (decision.staff_id, decision.rule, decision.reason) == ("S1", "a", "派遣给 A 角 李思远")


def test_a_off_shift_goes_to_b_and_says_why() -> None:
    decision = decide(people(S1={"on_duty": False}))
    assert decision.staff_id == "S2"
    assert decision.reason == "A 角 李思远 不在班，转 B 角 陆佳颖"


def test_a_on_leave_or_overloaded_goes_to_b() -> None:
    assert "A 角 李思远 请假" in decide(people(S1={"on_leave": True})).reason
    busy = decide(people(S1={"open_orders": 5}))
    assert busy.staff_id == "S2" and "在办工单已有 5 件（上限 5 件）" in busy.reason


def test_when_neither_can_arrive_in_time_the_nearest_available_field_worker_goes() -> None:
    far = near(2500)  # 2.5 km: about 36 minutes on foot
    decision = decide(people(S1={"position": far}, S2={"on_duty": False}))
    assert decision.staff_id == "S4" and decision.rule == "nearest"
    assert decision.reason.startswith(
        "A 角 李思远 步行约 36 分钟，连同出发准备约 39 分钟到场（到场时限 15 分钟），B 角 陆佳颖 不在班，"
    )
    assert decision.reason.endswith("派遣给就近可到场的 赵敏（步行约 5 分钟）")


def test_the_hotline_desk_is_never_sent_to_a_site_even_when_nearest() -> None:
    decision = decide(people(S1={"on_duty": False}, S2={"on_duty": False}, S4={"on_leave": True}))
    assert decision.staff_id == "S3"


def test_when_nobody_can_make_it_in_time_the_fastest_goes() -> None:
    decision = decide(
        people(
            S1={"position": near(3000)},
            S2={"position": near(2000)},
            S3={"on_duty": False},
            S4={"on_duty": False},
        )
    )
    assert decision.staff_id == "S2" and decision.rule == "fastest"
    assert "无人能在 15 分钟内到场，派遣给最快可到的 陆佳颖" in decision.reason


def test_unknown_site_or_position_trusts_availability() -> None:
    assert decide(people(S1={"position": near(3000)}), site=None).staff_id == "S1"
    assert decide(people()).walk_minutes is None


def test_nobody_available_falls_back_to_a_and_asks_for_attention() -> None:
    everyone_off = {k: {"on_duty": False} for k in ("S1", "S2", "S3", "S4", "H1")}
    decision = decide(people(**everyone_off))
    assert decision.staff_id == "S1" and decision.rule == "fallback_a" and "请值班长关注" in decision.reason


def test_without_positions_the_least_busy_available_field_worker_goes() -> None:
    staff = people(S1={"on_duty": False}, S2={"on_duty": False}, S3={"position": None, "open_orders": 3})
    staff["S4"] = StaffStatus("S4", "赵敏", on_duty=True, open_orders=1)
    assert decide(staff).staff_id == "S4"


def test_walking_distance_follows_the_street_grid() -> None:
    east = Point(SITE.lon + 0.001, SITE.lat)
    north_east = Point(SITE.lon + 0.001, SITE.lat + 0.001)
    assert 90 < walk_metres(SITE, east) < 100
    assert abs(walk_metres(SITE, north_east) - (walk_metres(SITE, east) + 111.32)) < 0.5


def test_when_everyone_on_shift_has_a_full_hand_the_least_loaded_takes_it() -> None:
    full = {k: {"open_orders": 5} for k in ("S1", "S2", "S3", "S4")}
    full["S2"] = {"open_orders": 6}
    decision = decide(people(**full))
    assert decision.staff_id == "S1" and decision.rule == "overloaded"
    assert decision.reason.endswith("在班人员均已满负荷，派遣给 李思远，请值班长关注")
    off = decide(people(**full | {"S1": {"on_duty": False}, "S2": {"on_duty": False}}))
    assert off.staff_id == "S3"


def test_a_busy_on_another_site_is_passed_over_for_a_free_person_who_can_make_it() -> None:
    staff = people(S1={"position": near(100), "open_orders": 1}, S2={"on_duty": False})
    decision = decide(staff)
    assert decision.staff_id == "S4" and decision.rule == "nearest"
    assert decision.reason.startswith(
        "A 角 李思远 手头另有 1 件工单，预计约 19 分钟后到场（到场时限 15 分钟）"
    )


def test_a_free_and_near_still_gets_the_order() -> None:
    assert decide(people(S1={"position": near(100)})).rule == "a"


def test_the_naive_baseline_always_picks_a_even_off_shift_and_far_away() -> None:
    staff = people(S1={"on_duty": False, "position": near(5000)})
    decision = route(PAIR, PAIR_DAY, staff, SITE, 15, RoutingRules(strategy=Strategy.A_ONLY))
    assert (decision.staff_id, decision.rule) == ("S1", "a")
    assert "固定派给 A 角" in decision.reason


def test_the_arrival_estimate_counts_setting_off_but_the_note_gives_the_walk() -> None:
    staff = people(S1={"position": near(800)}, S2={"on_duty": False})  # 800 m: 11.4 minutes on foot
    assert decide(staff).staff_id == "S1"  # 2.5 + 11.4 is within 15
    far = people(S1={"position": near(900)}, S2={"on_duty": False})  # 12.9 + 2.5 is not
    decision = decide(far)
    assert decision.staff_id == "S4"
    assert decision.reason.startswith(
        "A 角 李思远 步行约 13 分钟，连同出发准备约 16 分钟到场（到场时限 15 分钟）"
    )
    assert decision.walk_minutes is not None and round(decision.walk_minutes, 1) == 4.3


# --- the holder who will not make it (改派) ------------------------------------------------------------

NOW = datetime(2026, 11, 25, 10, 0)


def held(order_id: int, minutes_left: float | None, site: Point = SITE, on_site: bool = False) -> Held:
    due = None if minutes_left is None else NOW + timedelta(minutes=minutes_left)
    return Held(order_id, "S1", "A1", site, due, on_site)


def test_a_holder_busy_on_another_site_is_judged_late_for_the_next_one() -> None:
    staff = people(S1={"position": near(100), "open_orders": 2})
    # Working on site 1 (15 minutes), then 2.5 to set off and 1.4 of walk: 18.9 > 12 minutes left.
    late = late_holders(NOW, [held(1, None, near(100), on_site=True), held(2, 12)], staff)
    assert [(h.order_id, round(m, 1)) for h, m in late] == [(2, 18.9)]
    # With 20 minutes left it is in time.
    assert late_holders(NOW, [held(1, None, near(100), on_site=True), held(2, 20)], staff) == []


def test_the_order_a_holder_goes_to_first_is_judged_as_if_they_were_on_the_way() -> None:
    # Nothing ahead of order 1 (the earliest deadline): its holder may be on the way already. Checked in
    # 2 km away (28.6 minutes' walk) 5 minutes ago: at best 23.6 minutes from the site.
    five_ago = NOW - timedelta(minutes=5)
    staff = people(S1={"position": near(2000), "position_at": five_ago, "open_orders": 2})
    late = late_holders(NOW, [held(1, 20), held(2, 30, near(50))], staff)
    assert [(h.order_id, round(m, 1)) for h, m in late] == [(1, 23.6)]  # 2: after 1, 15 + 2.5 + 0.7
    near_enough = people(S1={"position": near(800), "position_at": five_ago})  # at best 6.4 minutes
    assert late_holders(NOW, [held(1, 12)], near_enough) == []
    unknown_when = people(S1={"position": near(2000)})  # a position without its time: not judged
    assert late_holders(NOW, [held(1, 12)], unknown_when) == []


def test_nothing_is_judged_without_a_position_or_for_the_naive_baseline_or_past_the_deadline() -> None:
    hand = [held(1, None, near(100), on_site=True), held(2, 12)]
    assert late_holders(NOW, hand, people()) == []  # S1's position unknown
    staff = people(S1={"position": near(100), "open_orders": 2})
    assert late_holders(NOW, hand, staff, RoutingRules(strategy=Strategy.A_ONLY)) == []
    assert late_holders(NOW, [hand[0], held(2, -1)], staff) == []  # already late: the escalation's job


def test_routing_can_leave_the_holder_out() -> None:
    decision = route(PAIR, PAIR_DAY, people(), SITE, 15, RoutingRules(), exclude=frozenset({"S1"}))
    assert (decision.staff_id, decision.rule) == ("S2", "b")
    assert decision.reason == "A 角 李思远 即原承办人，转 B 角 陆佳颖"
    alone = {"S1": StaffStatus("S1", "李思远", on_duty=True)}
    nobody = route(PAIR, PAIR_DAY, alone, SITE, 15, RoutingRules(), exclude=frozenset({"S1"}))
    assert nobody.rule == "nobody"
