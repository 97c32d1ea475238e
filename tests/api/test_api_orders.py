"""Work orders through HTTP: intake, idempotent retries, the lifecycle and its timeline, deadlines, privacy,
search."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from apikit import TILE, Api, assert_error
from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import Center
from street import T0

HERE = {"lon": 121.4421, "lat": 31.2251}  # in front of building B1, area A1


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def minutes_after(start: str, end: str) -> float:
    return (at(end) - at(start)) / timedelta(minutes=1)


# --- intake -----------------------------------------------------------------------------------------


def test_an_order_with_an_address_is_located_dispatched_and_timed(api: Api) -> None:
    response = api.post("/orders", "hotline", json=TILE)
    assert response.status_code == 201
    order = response.json()
    assert response.headers["Location"] == f"/api/v1/orders/{order['id']}"
    assert (order["state"], order["state_label"], order["group"]) == ("dispatched", "已派遣", "open")
    assert (order["area"], order["grid"], order["building"]) == ("A1", "A1-G1", "B1")
    assert order["position"] == {"lon": 121.442, "lat": 31.225}
    assert order["assignee"] == "M1"  # A1's A manager, on shift until 12:00
    assert (order["colour"], order["colour_label"]) == ("orange", "橙色（Ⅱ级）")  # yellow, but 手臂受伤
    assert (order["category_name"], order["source_label"]) == ("人行道板", "12345热线")
    assert at(order["received_at"]) == T0
    clocks = {c["stage"]: c for c in order["clocks"]}
    assert [(s, c["label"]) for s, c in clocks.items()] == [("respond", "响应"), ("arrive", "到场")]
    assert minutes_after(order["received_at"], clocks["respond"]["due_at"]) == 5
    assert minutes_after(order["received_at"], clocks["arrive"]["due_at"]) == 15
    assert order["next_due_at"] == clocks["respond"]["due_at"]
    assert not order["overdue"] and order["escalation_level"] == 0 and order["round"] == 1
    assert order["complainants"] == [{"name": "唐女士", "phone": "13812345678", "masked": False}]

    fetched = api.client.get(response.headers["Location"], headers=api.headers("desk"))
    assert fetched.json() == order


def test_an_order_with_a_position_is_placed_in_its_area_and_building(api: Api) -> None:
    order = api.create(address=None, position={"lon": 121.4471, "lat": 31.2251})
    assert (order["area"], order["grid"], order["building"]) == ("A2", "A2-G1", "B2")
    assert order["position"] == {"lon": 121.4471, "lat": 31.2251}
    assert (order["state"], order["assignee"]) == ("dispatched", "M3")


def test_an_order_with_only_an_area_goes_to_that_areas_manager(api: Api) -> None:
    order = api.create(address=None, area="A2")
    assert (order["area"], order["grid"], order["position"], order["address"]) == ("A2", None, None, None)
    assert (order["state"], order["assignee"]) == ("dispatched", "M3")


def test_when_the_a_manager_is_off_shift_the_b_partner_gets_the_order(api: Api, clock: ManualClock) -> None:
    clock.advance(hours=4)  # 13:00: M1 went home at 12:00, M2 serves A1 now
    order = api.create()
    assert order["assignee"] == "M2"
    dispatched = api.timeline(order["id"])[-1]
    assert (dispatched["kind"], dispatched["note"]) == (
        "dispatched",
        "A 角 李思远 不在班，转 B 角 陆佳颖（人行道板，责任部门：市容所）",
    )


def test_an_unknown_address_waits_for_the_desk_to_dispatch_it(api: Api) -> None:
    order = api.create(address="火星路1号")
    assert (order["state"], order["state_label"], order["area"], order["assignee"]) == (
        "received",
        "已受理",
        None,
        None,
    )
    refused = assert_error(api.act(order["id"], "dispatch", "desk"), 422, "invalid_input")
    assert "居民区" in refused["message"]
    assert_error(api.act(order["id"], "dispatch", "desk", area="A9"), 422, "invalid_input")
    dispatched = api.ok(order["id"], "dispatch", "desk", area="A2", note="核实地址后派单")
    assert (dispatched["state"], dispatched["area"], dispatched["assignee"]) == ("dispatched", "A2", "M3")
    assert api.timeline(order["id"])[-1]["note"] == "核实地址后派单"


def test_an_unlocated_order_may_be_dispatched_to_a_named_person_with_its_area(api: Api) -> None:
    order_id = api.create(address="火星路1号")["id"]
    dispatched = api.ok(order_id, "dispatch", "desk", assignee="M4", area="A2")
    assert (dispatched["area"], dispatched["assignee"]) == ("A2", "M4")
    assert api.timeline(order_id)[-1]["note"] == "派遣给 赵敏"


def test_a_responded_order_is_reassigned_with_a_reason_and_keeps_its_first_contact(api: Api) -> None:
    order_id = api.create()["id"]
    api.ok(order_id, "respond", "desk", note="先联：已电话联系")
    assert_error(api.act(order_id, "reassign", "duty", assignee="M2"), 422, "invalid_request")
    refused = assert_error(
        api.act(order_id, "reassign", "duty", assignee="M2", reason=" "), 422, "invalid_input"
    )
    assert "改派原因" in refused["message"]
    moved = api.ok(order_id, "reassign", "duty", reason="李思远在另一处现场，无法按时到场")
    assert (moved["state"], moved["assignee"]) == ("responded", "M2")  # routing chose the B partner
    entry = api.timeline(order_id)[-1]
    assert (entry["kind"], entry["note"]) == (
        "reassigned",
        "改派给 陆佳颖：李思远在另一处现场，无法按时到场；A 角 李思远 即原承办人，转 B 角 陆佳颖",
    )
    api.ok(order_id, "arrive", "M2", position=HERE)
    refused = assert_error(
        api.act(order_id, "reassign", "duty", assignee="M1", reason="换回"), 409, "illegal_transition"
    )
    assert "不能执行「改派」" in refused["message"]


def test_a_red_category_gets_the_tighter_policy(api: Api) -> None:
    order = api.create(category="040101", description="路面塌陷一个大坑")
    respond = order["clocks"][0]
    assert (order["colour"], order["colour_label"], order["policy"]) == ("red", "红色（Ⅰ级）", "51530-red")
    assert minutes_after(order["received_at"], respond["due_at"]) == 3


# --- idempotency ------------------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_returns_the_first_order(api: Api) -> None:
    key = {"Idempotency-Key": "12345-20261125-0001"}
    first = api.post("/orders", "hotline", json=TILE, headers=key)
    again = api.post("/orders", "hotline", json=TILE, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert api.get("/orders").json()["total"] == 1


def test_the_same_key_with_a_different_body_is_a_conflict(api: Api) -> None:
    key = {"Idempotency-Key": "12345-20261125-0002"}
    first = api.post("/orders", "hotline", json=TILE, headers=key)
    other = api.post("/orders", "hotline", json=TILE | {"description": "另一件事：路灯不亮"}, headers=key)
    error = assert_error(other, 409, "idempotency_key_reused")
    assert "Idempotency-Key" in error["message"]
    assert error["details"]["order_id"] == first.json()["id"]
    assert api.get("/orders").json()["total"] == 1


def test_without_a_key_the_same_body_twice_makes_two_orders(api: Api) -> None:
    first = api.post("/orders", "hotline", json=TILE)
    second = api.post("/orders", "hotline", json=TILE)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert api.get("/orders").json()["total"] == 2


def test_idempotency_keys_belong_to_the_client_that_sent_them(api: Api) -> None:
    key = {"Idempotency-Key": "shared-key"}
    by_hotline = api.post("/orders", "hotline", json=TILE, headers=key)
    by_desk = api.post("/orders", "desk", json=TILE, headers=key)
    assert (by_hotline.status_code, by_desk.status_code) == (201, 201)
    assert by_hotline.json()["id"] != by_desk.json()["id"]


# --- the lifecycle ----------------------------------------------------------------------------------


def test_the_whole_lifecycle_through_http_and_its_timeline(api: Api, clock: ManualClock) -> None:
    order_id = api.create()["id"]
    clock.advance(minutes=2)
    api.ok(order_id, "respond", "M1", note="先联：已电话联系唐女士")
    clock.advance(minutes=8)
    api.ok(order_id, "arrive", "M1", position=HERE, note="已到场")
    clock.advance(minutes=15)
    api.ok(order_id, "handle", "M1", note="联系商场负责人，翘起的地砖已重新铺设")
    clock.advance(minutes=10)
    api.ok(order_id, "close-loop", "responder", note="回访唐女士，表示满意", satisfaction="satisfied")
    closed = api.ok(order_id, "close", "desk")

    assert (closed["state"], closed["state_label"], closed["group"]) == ("closed", "已结案", "closed")
    assert closed["satisfaction"] == "satisfied"
    assert [(c["stage"], c["on_time"]) for c in closed["clocks"]] == [
        ("respond", True),
        ("arrive", True),
        ("handle", True),
        ("close", True),
    ]
    assert not closed["overdue"] and closed["next_due_at"] is None

    timeline = api.timeline(order_id)
    assert [(e["seq"], e["kind"], e["actor_name"], e["state"], e["state_label"]) for e in timeline] == [
        (1, "received", "12345 对接系统", "received", "已受理"),
        (2, "first_contact_task", "智能受理", "received", "已受理"),
        (3, "dispatched", "自动派单", "dispatched", "已派遣"),
        (4, "responded", "李思远", "responded", "已响应"),
        (5, "arrived", "李思远", "on_site", "已到场"),
        (6, "handled", "李思远", "handled", "已处置"),
        (7, "loop_closed", "钱进", "loop_closed", "已闭环"),
        (8, "closed", "孙丽", "closed", "已结案"),
    ]
    assert [(at(e["at"]) - T0) / timedelta(minutes=1) for e in timeline] == [0, 0, 0, 2, 10, 25, 35, 35]
    assert timeline[2]["note"] == "派遣给 A 角 李思远（人行道板，责任部门：市容所）"
    assert timeline[4]["position"] == HERE
    assert timeline[6]["data"] == {"satisfaction": "satisfied"}
    assert [e["actor"] for e in timeline[3:7]] == ["M1", "M1", "M1", "R1"]


def test_a_planned_repair_gets_the_plans_date_as_its_closing_deadline(api: Api, clock: ManualClock) -> None:
    order_id = api.create()["id"]
    api.ok(order_id, "respond", "M1")
    api.ok(order_id, "arrive", "M1", position=HERE)
    clock.advance(minutes=20)
    planned = api.ok(
        order_id, "plan", "M1", plan="整块地砖需更换，已约施工队", planned_for="2026-11-26T10:00:00+08:00"
    )
    assert (planned["state"], planned["state_label"]) == ("planned", "已明确方案")
    assert at(planned["planned_for"]) == at("2026-11-26T10:00:00+08:00")
    assert at(planned["next_due_at"]) == at("2026-11-26T10:00:00+08:00")
    handled = api.ok(order_id, "handle", "M1", note="地砖已更换")
    assert handled["state"] == "handled"


def test_an_unsatisfied_complainant_reopens_a_closed_order_for_a_second_round(
    api: Api, clock: ManualClock
) -> None:
    order_id = api.create()["id"]
    api.ok(order_id, "respond", "M1")
    api.ok(order_id, "arrive", "M1", position=HERE)
    api.ok(order_id, "handle", "M1", note="已处理")
    api.ok(order_id, "close-loop", "responder", note="回访", satisfaction="unsatisfied")
    api.ok(order_id, "close", "desk")
    clock.advance(hours=1)
    reopened = api.ok(order_id, "reopen", "responder", reason="回访不满意：地砖仍松动")
    assert (reopened["state"], reopened["round"], reopened["assignee"]) == ("dispatched", 2, "M1")
    assert [c["stage"] for c in reopened["clocks"]] == ["respond", "arrive"]
    assert at(reopened["clocks"][0]["started_at"]) == clock.now()
    last = api.timeline(order_id)[-1]
    assert (last["kind"], last["note"], last["data"]["round"]) == (
        "reopened",
        "重新办理：回访不满意：地砖仍松动",
        2,
    )


def test_an_illegal_move_is_refused_naming_the_state_and_the_move(api: Api) -> None:
    order_id = api.create()["id"]
    error = assert_error(api.act(order_id, "close", "desk"), 409, "illegal_transition")
    assert "已派遣" in error["message"] and "结案" in error["message"]
    assert error["details"] == {"state": "dispatched", "action": "close"}
    assert_error(api.act(order_id, "arrive", "M1", position=HERE), 409, "illegal_transition")
    assert [e["kind"] for e in api.timeline(order_id)] == ["received", "first_contact_task", "dispatched"]
    assert api.order(order_id)["version"] == 1


def test_suspending_freezes_the_clock_until_the_order_resumes(api: Api, clock: ManualClock) -> None:
    order = api.create()
    due = at(order["clocks"][0]["due_at"])
    clock.advance(minutes=1)
    suspended = api.ok(order["id"], "suspend", "duty", reason="需区房管局协调")
    assert (suspended["state"], suspended["group"], suspended["next_due_at"]) == (
        "suspended",
        "suspended",
        None,
    )
    clock.advance(hours=2)
    resumed = api.ok(order["id"], "resume", "director")
    assert resumed["state"] == "dispatched"
    assert at(resumed["clocks"][0]["due_at"]) == due + timedelta(hours=2)
    assert not resumed["overdue"]


def test_a_merged_duplicate_hands_its_complainant_to_the_first_order(api: Api) -> None:
    first = api.create()["id"]
    second = api.create(complainant={"name": "王先生", "phone": "13900001111"})["id"]
    merged = api.ok(second, "merge", "desk", into=first, note="同一块地砖")
    assert (merged["state"], merged["state_label"], merged["merged_into"]) == ("merged", "已并案", first)
    target = api.order(first)
    assert [c["name"] for c in target["complainants"]] == ["唐女士", "王先生"]
    assert api.timeline(first)[-1]["kind"] == "duplicate_merged"


def test_an_extension_approved_moves_the_deadline(api: Api) -> None:
    order_id = api.create()["id"]
    until = "2026-11-25T09:30:00+08:00"
    requested = api.ok(order_id, "extension", "M1", until=until, reason="需调用高空作业车")
    assert [(e["no"], e["stage"], e["decision"]) for e in requested["extensions"]] == [(1, "respond", None)]
    decided = api.ok(order_id, "extension/decision", "duty", approve=True, note="同意")
    assert decided["extensions"][0]["decision"] == "approved"
    assert decided["extensions"][0]["decided_by"] == "O1"
    assert at(decided["clocks"][0]["due_at"]) == at(until)


def test_a_supervision_is_replied_to_by_the_assignee(api: Api, clock: ManualClock) -> None:
    order_id = api.create()["id"]
    supervised = api.ok(order_id, "supervise", "duty", note="群众反映强烈，请立即处置", reply_minutes=20)
    (supervision,) = supervised["supervisions"]
    assert (supervision["no"], supervision["issued_by"]) == (1, "O1")
    assert minutes_after(supervision["issued_at"], supervision["reply_due_at"]) == 20
    clock.advance(minutes=5)
    replied = api.ok(order_id, "supervisions/1/reply", "M1", reply="已安排人员前往")
    assert replied["supervisions"][0]["reply"] == "已安排人员前往"
    assert_error(api.act(order_id, "supervisions/1/reply", "M1", reply="再回一次"), 409, "illegal_transition")


def test_regrading_changes_the_colour_and_notes_are_kept(api: Api) -> None:
    order_id = api.create(description="商场门口人行道大理石地砖翘起")["id"]
    regraded = api.ok(order_id, "regrade", "desk", colour="orange", reason="有老人摔伤")
    assert (regraded["colour"], regraded["colour_label"]) == ("orange", "橙色（Ⅱ级）")
    api.ok(order_id, "notes", "patrol", note="现场已设置围挡", position=HERE)
    notes = [(e["kind"], e["note"], e["actor_name"]) for e in api.timeline(order_id)[-2:]]
    assert notes == [
        ("regraded", "黄色（Ⅲ级） → 橙色（Ⅱ级）：有老人摔伤", "孙丽"),
        ("noted", "现场已设置围挡", "冯巡"),
    ]


def test_a_returned_order_loses_its_assignee_and_can_be_dispatched_again(api: Api) -> None:
    order_id = api.create()["id"]
    returned = api.ok(order_id, "return", "M1", reason="wrong_area", note="该地址属华山居民区")
    assert (returned["state"], returned["state_label"], returned["assignee"]) == ("returned", "已退单", None)
    assert api.timeline(order_id)[-1]["note"] == "退单（属地不符）：该地址属华山居民区"
    again = api.ok(order_id, "dispatch", "desk", assignee="M3")
    assert (again["state"], again["assignee"]) == ("dispatched", "M3")


# --- deadlines --------------------------------------------------------------------------------------


def test_the_deadline_worker_warns_marks_overdue_and_escalates(
    api: Api, center: Center, clock: ManualClock
) -> None:
    order_id = api.create()["id"]
    clock.advance(minutes=4)  # 80 % of the 5 minutes to respond
    assert center.worker.run_once() == 1
    warned = api.order(order_id)
    assert not warned["overdue"] and warned["escalation_level"] == 0
    clock.advance(minutes=2)
    assert center.worker.run_once() == 1

    order = api.order(order_id)
    assert order["overdue"] and order["escalation_level"] == 1
    assert [(c["stage"], c["overdue"]) for c in order["clocks"]] == [("respond", True), ("arrive", False)]
    timeline = api.timeline(order_id)
    assert [(e["kind"], e["actor_name"], e["note"]) for e in timeline[3:]] == [
        ("deadline_warning", "系统", "响应即将超期（剩余约 1 分钟）"),
        ("deadline_overdue", "系统", "响应已超期"),
        ("escalated", "系统", "响应超期未办，升级至AB角搭档 陆佳颖"),
    ]
    assert timeline[-1]["data"]["notify"] == "M2" and timeline[-1]["data"]["rung"] == "partner"

    assert center.worker.run_once() == 0  # nothing new is due: nothing fires twice
    assert len(api.timeline(order_id)) == 6

    clock.advance(minutes=10)  # 16 minutes after receipt: the duty officer, the director, the arrival
    center.worker.run_once()
    escalations = [e["data"]["notify_name"] for e in api.timeline(order_id) if e["kind"] == "escalated"]
    assert escalations == ["陆佳颖", "周强", "张燕芬", "陆佳颖"]
    assert api.order(order_id)["escalation_level"] == 3


# --- privacy ----------------------------------------------------------------------------------------


SHOWN = {"name": "唐女士", "phone": "13812345678", "masked": False}
MASKED = {"name": "唐**", "phone": "138****5678", "masked": True}


def test_the_complainants_contact_is_shown_only_to_those_who_need_it(api: Api) -> None:
    order_id = api.create()["id"]

    def contacts() -> dict[str, Any]:
        return {
            who: (
                api.order(order_id, who)["complainants"],
                api.get("/orders", who).json()["items"][0]["complainants"],
            )
            for who in ("desk", "duty", "responder", "M1", "M2", "M3", "patrol")
        }

    assert contacts() == {
        "desk": ([SHOWN], [SHOWN]),
        "duty": ([SHOWN], [SHOWN]),
        "responder": ([SHOWN], [SHOWN]),
        "M1": ([SHOWN], [SHOWN]),  # the assignee
        "M2": ([MASKED], [MASKED]),  # the partner, not (yet) on the order
        "M3": ([MASKED], [MASKED]),  # the other area's manager
        "patrol": ([MASKED], [MASKED]),
    }
    api.ok(order_id, "dispatch", "desk", assignee="M2")
    after = contacts()
    assert (after["M1"], after["M2"]) == (([MASKED], [MASKED]), ([SHOWN], [SHOWN]))


def test_phone_numbers_typed_into_the_text_are_masked_like_the_contact(api: Api) -> None:
    order_id = api.create(description="人行道板松动，请回电13812345678或座机021-62481234")["id"]
    api.ok(order_id, "respond", "M1", note="已与市民通话（电话：62481234），约好下午到场")

    def seen(who: str) -> tuple[str, str, str]:
        listed = api.get("/orders", who).json()["items"][0]
        assert listed["description"] == api.order(order_id, who)["description"]
        return listed["description"], api.timeline(order_id, who)[-1]["note"], api.get("/orders", who).text

    for who in ("desk", "duty", "M1"):  # those who see the contact see the numbers
        description, note, _ = seen(who)
        assert (description, note) == (
            "人行道板松动，请回电13812345678或座机021-62481234",
            "已与市民通话（电话：62481234），约好下午到场",
        )
    for who in ("M2", "M3", "patrol"):
        description, note, listing = seen(who)
        assert (description, note) == (
            "人行道板松动，请回电138****5678或座机021*****1234",
            "已与市民通话（电话：62****34），约好下午到场",
        )
        assert "13812345678" not in listing and "62481234" not in listing


# --- search -----------------------------------------------------------------------------------------


def test_search_filters_sorts_and_pages(api: Api, clock: ManualClock) -> None:
    ids = {"tile": api.create()["id"]}  # A1, yellow, M1, 09:00
    clock.advance(minutes=1)
    ids["pothole"] = api.create(  # A2, red, M3, 09:01
        category="040101",
        description="路面塌陷一个大坑",
        address=None,
        position={"lon": 121.4471, "lat": 31.2251},
    )["id"]
    clock.advance(minutes=1)
    ids["lost"] = api.create(description="门口垃圾堆放多日无人清理", category="900101", address="火星路1号")[
        "id"
    ]
    api.ok(ids["tile"], "respond", "M1")
    clock.advance(minutes=4)  # 09:06: the red pothole missed its 3 minutes, the others are in time
    names = {v: k for k, v in ids.items()}

    def found(**params: Any) -> list[str]:
        response = api.get("/orders", params=params)
        assert response.status_code == 200, response.text
        return [names[o["id"]] for o in response.json()["items"]]

    queries: dict[str, dict[str, Any]] = {
        "all": {},
        "dispatched": {"state": "dispatched"},
        "received or responded": {"state": ["received", "responded"]},
        "open": {"group": "open"},
        "closed": {"group": "closed"},
        "area": {"area": "A2"},
        "category": {"category": "040101"},
        "colour": {"colour": "red"},
        "assignee": {"assignee": "M1"},
        "overdue": {"overdue": "true"},
        "since": {"since": "2026-11-25T09:01:00+08:00"},
        "until": {"until": "2026-11-25T09:01:00+08:00"},
        "between": {"since": "2026-11-25T01:01:00Z", "until": "2026-11-25T01:02:00Z"},
        "text in description": {"q": "地砖"},
        "text in address": {"q": "火星路"},
        "page": {"limit": 1, "offset": 1},
    }
    assert {name: found(**q) for name, q in queries.items()} == {
        "all": ["lost", "pothole", "tile"],
        "dispatched": ["pothole"],
        "received or responded": ["lost", "tile"],
        "open": ["lost", "pothole", "tile"],
        "closed": [],
        "area": ["pothole"],
        "category": ["pothole"],
        "colour": ["pothole"],
        "assignee": ["tile"],
        "overdue": ["pothole"],
        "since": ["lost", "pothole"],
        "until": ["tile"],
        "between": ["pothole"],
        "text in description": ["tile"],
        "text in address": ["lost"],
        "page": ["pothole"],
    }
    page = api.get("/orders", params={"limit": 1, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    overdue = api.get("/orders", params={"overdue": "true"}).json()["items"][0]
    assert overdue["overdue"] is True
