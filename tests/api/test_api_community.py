"""The community programs over HTTP: residents without a token, stall holders, the center; limits and
bad input answered with precise errors; residents' names and phones masked for who need not see them."""

from __future__ import annotations

from typing import Any

import pytest

from apikit import PEOPLE, Api, assert_error
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.services.community.imports import ImportKind
from community_data import MARKET_DAY, load_community
from street import ADMIN, STREET

P = "/community/public"
PEOPLE.setdefault("worker", (Role.COMMUNITY_WORKER, None, ("T",)))


@pytest.fixture
def api_c(api: Api, center: Center) -> Api:
    load_community(center)
    return api


def booking(**changes: Any) -> dict[str, Any]:
    body = {"stall": "S1", "day": MARKET_DAY, "slot": "09:00", "name": "王阿姨", "phone": "13812345678"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def stall_holder(api: Api, org: str) -> dict[str, str]:
    response = api.post("/community/accounts", "worker", json={"org": org})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_a_resident_sees_the_next_market_and_what_is_left_without_a_token(api_c: Api) -> None:
    markets = api_c.get(f"{P}/markets", None)
    assert markets.status_code == 200, markets.text
    first = markets.json()["sessions"][0]
    assert (first["market"], first["day"], first["starts_at"][:16]) == ("M1", MARKET_DAY, "2026-12-03T09:00")
    board = api_c.get(f"{P}/markets/M1/sessions/{MARKET_DAY}", None).json()
    doctor = next(s for s in board["board"] if s["code"] == "S1")
    assert [s["at"] for s in doctor["slots"]] == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert doctor["left"] == 10 and board["bookable"] is True


def test_a_resident_books_a_slot_and_keeps_a_code_to_look_it_up_or_cancel(api_c: Api) -> None:
    made = api_c.post(f"{P}/bookings", None, json=booking(topic="高血压"))
    assert made.status_code == 201, made.text
    b = made.json()
    assert (b["slot"], b["status"], b["name"], b["phone"]) == ("09:00", "booked", "王**", "138****5678")
    assert b["address"] == "常德路370号"
    assert api_c.get(f"{P}/bookings/{b['code']}", None).json()["stall_name"] == "名医坐堂"
    cancelled = api_c.post(f"{P}/bookings/{b['code']}/cancel", None)
    assert cancelled.json()["status"] == "cancelled"
    assert_error(api_c.post(f"{P}/bookings/{b['code']}/cancel", None), 409, "illegal_transition")
    assert_error(api_c.get(f"{P}/bookings/mk-nonexistent", None), 404, "not_found")


def test_double_booking_and_a_full_slot_are_refused(api_c: Api) -> None:
    assert api_c.post(f"{P}/bookings", None, json=booking()).status_code == 201
    twice = api_c.post(f"{P}/bookings", None, json=booking(slot="10:00"))
    assert "请勿重复预约" in assert_error(twice, 409, "already_booked")["message"]
    assert api_c.post(f"{P}/bookings", None, json=booking(phone="13812345679")).status_code == 201
    full = api_c.post(f"{P}/bookings", None, json=booking(phone="13812345670"))
    assert_error(full, 409, "slot_full")
    numbers = [
        api_c.post(f"{P}/bookings", None, json=booking(stall="S2", slot=None, phone=f"1390000000{n}")).json()[
            "number"
        ]
        for n in range(3)
    ]
    assert numbers == [1, 2, 3]
    assert_error(
        api_c.post(f"{P}/bookings", None, json=booking(stall="S2", slot=None, phone="13900000009")),
        409,
        "queue_full",
    )


def test_bad_bookings_get_precise_errors_and_store_nothing(api_c: Api) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"phone": "12345"}, 422, "invalid_input"),
        ({"name": " "}, 422, "invalid_input"),
        ({"day": "2026-12-04"}, 422, "no_session"),
        ({"slot": "09:10"}, 422, "bad_slot"),
        ({"slot": None}, 422, "slot_required"),
        ({"topic": "理财"}, 422, "invalid_input"),
        ({"day": "2027-03-04"}, 422, "not_open"),
        ({"stall": "S9"}, 404, "not_found"),
        ({"stall": "bad code!"}, 422, "invalid_request"),
        ({"street": "X"}, 404, "not_found"),
    ]
    for changes, status, code in cases:
        assert_error(api_c.post(f"{P}/bookings", None, json=booking(**changes)), status, code)
    listed = api_c.get("/community/bookings", "worker", params={"since": "2026-01-01", "until": "2026-12-31"})
    assert listed.json() == []


def test_a_stall_holder_sees_its_own_bookings_masked_and_marks_who_came(api_c: Api, center: Center) -> None:
    api_c.post(f"{P}/bookings", None, json=booking(topic="用药安全"))
    api_c.post(f"{P}/bookings", None, json=booking(stall="S2", slot=None, phone="13900000001", name="李伯伯"))
    doctor = stall_holder(api_c, "hosp")
    mine = api_c.client.get("/api/v1/community/bookings", headers=doctor, params={"since": MARKET_DAY})
    assert mine.status_code == 200, mine.text
    (only,) = mine.json()
    assert (only["stall_name"], only["name"], only["phone"], only["topic"]) == (
        "名医坐堂",
        "王**",
        "138****5678",
        "用药安全",
    )
    # the center sees everyone, in full
    everyone = api_c.get("/community/bookings", "worker", params={"since": MARKET_DAY}).json()
    assert {b["name"] for b in everyone} == {"王阿姨", "李伯伯"}

    early = api_c.client.post(f"/api/v1/community/bookings/{only['id']}/attend", headers=doctor)
    assert "当天" in assert_error(early, 409, "illegal_transition")["message"]
    center.clock.set(center.clock.now().replace(day=3, month=12, hour=1, minute=5))  # type: ignore[attr-defined]
    came = api_c.client.post(f"/api/v1/community/bookings/{only['id']}/attend", headers=doctor)
    assert came.json()["status"] == "attended"
    barber = next(b for b in everyone if b["stall"] == "S2")
    assert_error(
        api_c.client.post(f"/api/v1/community/bookings/{barber['id']}/attend", headers=doctor),
        403,
        "forbidden",
    )
    figures = api_c.get("/community/market-figures", "worker").json()
    assert (figures["booked"], figures["attended"]) == (2, 1)
    assert figures["topics"][0]["label"] == "用药安全"


def test_who_may_do_what_in_the_community_programs(api_c: Api) -> None:
    assert_error(api_c.get("/community/bookings", None), 401, "unauthorized")
    assert_error(api_c.post("/community/accounts", "M1", json={"org": "hosp"}), 403, "forbidden")
    assert_error(api_c.put("/community/files/orgs", "M1", content="code,name\nx,某单位\n"), 403, "forbidden")
    doctor = stall_holder(api_c, "hosp")
    assert api_c.client.get("/api/v1/community/party/units", headers=doctor).status_code == 403
    assert api_c.client.get("/api/v1/orders", headers=doctor).status_code == 403
    assert (
        api_c.client.get("/api/v1/community/account", headers=doctor).json()["org_name"] == "静安区中心医院"
    )
    assert_error(api_c.get("/community/summary", "outsider", params={"street": "T"}), 403, "forbidden")
    # an area manager reads the figures and the grid, residents masked
    api_c.post(f"{P}/bookings", None, json=booking())
    listed = api_c.get("/community/bookings", "M1", params={"since": MARKET_DAY}).json()
    assert listed[0]["phone"] == "138****5678"


def test_a_volunteer_signs_up_is_checked_in_and_out_and_sees_the_hours(api_c: Api, center: Center) -> None:
    made = api_c.post(
        f"{P}/volunteer-signups", None, json={"shift": "SH1", "name": "志愿者小陈", "phone": "13700000001"}
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert_error(
        api_c.post(
            f"{P}/volunteer-signups", None, json={"shift": "SH1", "name": "小陈", "phone": "13700000001"}
        ),
        409,
        "already_signed_up",
    )
    (signup,) = api_c.get("/community/volunteer-shifts/SH1/signups", "worker").json()
    center.clock.set(center.clock.now().replace(month=12, day=3, hour=0, minute=20))  # type: ignore[attr-defined]  # 08:20, early
    assert (
        api_c.post(f"/community/volunteer-signups/{signup['id']}/check-in", "worker").json()["status"]
        == "checked_in"
    )
    center.clock.set(center.clock.now().replace(hour=3, minute=0))  # type: ignore[attr-defined]  # 11:00 local
    assert (
        api_c.post(f"/community/volunteer-signups/{signup['id']}/check-out", "worker").json()["status"]
        == "done"
    )
    mine = api_c.get(f"{P}/volunteer-signups/{code}", None).json()
    assert (mine["hours"], mine["total_hours"]) == (2.5, 2.5)  # 08:30–11:00, counted from the shift's start
    ranking = api_c.get("/community/volunteer-hours", "worker").json()
    assert ranking == [{"name": "志愿者小陈", "phone": "13700000001", "hours": 2.5, "shifts": 1}]
    assert api_c.get("/community/volunteer-hours", "M1").json()[0]["name"] == "志****"
    logged = api_c.get("/audit", "admin", params={"action": "residents_viewed"}).json()
    # newest first: the ranking in full (the masked one is not logged), check-out, check-in, the list
    assert [e["subject"] for e in logged] == ["volunteers:T"] + ["signups:T"] * 3
    assert logged[0]["details"]["ids"] == ["13700000001"]


def test_a_resident_applies_and_the_employer_moves_the_application_on(api_c: Api) -> None:
    posts = api_c.get(f"{P}/job-posts", None).json()
    assert {p["special_label"] for p in posts["posts"]} == {"女性专区", "高校毕业生专场"}
    made = api_c.post(
        f"{P}/job-applications", None, json={"post": "J1", "name": "刘女士", "phone": "13600000001"}
    )
    assert made.status_code == 201, made.text
    care = stall_holder(api_c, "care")
    (application,) = api_c.client.get("/api/v1/community/job-applications", headers=care).json()
    studio = stall_holder(api_c, "studio")
    assert api_c.client.get("/api/v1/community/job-applications", headers=studio).json() == []
    moved = api_c.client.post(
        f"/api/v1/community/job-applications/{application['id']}/status",
        headers=care,
        json={"status": "offered"},
    )
    assert moved.json()["status_label"] == "拟录用"
    skipped = api_c.client.post(
        f"/api/v1/community/job-applications/{application['id']}/status",
        headers=care,
        json={"status": "submitted"},
    )
    assert_error(skipped, 409, "illegal_transition")
    assert api_c.get(f"{P}/job-applications/{made.json()['code']}", None).json()["status"] == "offered"
    figures = api_c.get("/community/job-figures", "worker").json()
    assert (figures["employers"], figures["posts"], figures["applications"], figures["offered"]) == (
        2,
        2,
        1,
        1,
    )


def test_renovation_signing_moves_the_rate_and_construction_waits_for_the_threshold(api_c: Api) -> None:
    (project,) = api_c.get("/community/renovation/projects", "worker").json()
    assert project["signing"] == {
        "households": 10,
        "consulted": 9,
        "signed": 7,
        "declined": 1,
        "pending": 1,
        "rate": 0.7,
        "consulted_rate": 0.9,
    }
    assert (project["stage"], project["completion"]) == ("signing", 0.4)
    refused = api_c.post("/community/renovation/projects/R1/milestones/signing", "worker", json={})
    assert "签约率 70.0% 未达到 90%" in assert_error(refused, 409, "illegal_transition")["message"]
    for household in ("8", "9"):
        signed = api_c.post(
            f"/community/renovation/projects/R1/households/{household}", "worker", json={"action": "sign"}
        )
        assert signed.json()["status"] == "signed", signed.text
    done = api_c.post("/community/renovation/projects/R1/milestones/signing", "worker", json={})
    assert done.status_code == 200, done.text
    assert (done.json()["signing"]["rate"], done.json()["stage_label"]) == (0.9, "施工改造")
    detail = api_c.get("/community/renovation/projects/R1", "M1").json()
    assert detail["households"][0]["head"].endswith("*") and detail["by_building"][0]["rate"] == 0.9
    assert_error(
        api_c.post("/community/renovation/projects/R1/households/10", "M1", json={"action": "sign"}),
        403,
        "forbidden",
    )


def test_who_is_responsible_for_a_building_has_one_answer(api_c: Api) -> None:
    by_address = api_c.get("/community/party/responsible", "M1", params={"address": "愚园路608弄6号"})
    assert by_address.status_code == 200, by_address.text
    answer = by_address.json()
    assert (answer["building"], answer["unit_name"], answer["leader"]["name"]) == (
        "B1",
        "608弄6号楼栋党小组",
        "郑组长",
    )
    assert [c["level_label"] for c in answer["chain"]] == [
        "楼栋党小组",
        "社区党组织",
        "居民区党总支",
        "街道党工委",
    ]
    assert answer["leader"]["phone"] == "139****0004"  # an area manager does not need the phone
    other = api_c.get("/community/party/responsible", "worker", params={"building": "B2"}).json()
    assert (other["covered_by"], other["leader"]["name"], other["leader"]["phone"]) == (
        "area",
        "冯书记",
        "13911110005",
    )
    assert_error(api_c.get("/community/party/responsible", "M1"), 422, "building_required")
    assert_error(
        api_c.get("/community/party/responsible", "M1", params={"building": "A1"}), 422, "not_a_building"
    )


def test_a_bad_csv_row_is_named_and_nothing_is_imported(api_c: Api) -> None:
    bad = "code,market,series,org,name,mode,capacity,slot_minutes\nS3,M1,doctor,hosp,义诊,slot,2,30\nS4,M9,doctor,hosp,义诊,queue,0,\n"
    error = assert_error(api_c.put("/community/files/stalls", "worker", content=bad), 422, "import_rejected")
    assert {(e["row"], e["field"]) for e in error["details"]["errors"]} == {(3, "market"), (3, "capacity")}
    exported = api_c.get("/community/files/stalls", "worker")
    assert exported.headers["content-type"].startswith("text/csv")
    assert (
        "S3" not in exported.text and "S1,M1,doctor,hosp,名医坐堂,slot,2,30,高血压|用药安全" in exported.text
    )


def test_the_summary_holds_what_the_wall_screen_panel_shows(api_c: Api) -> None:
    api_c.post(f"{P}/bookings", None, json=booking())
    s = api_c.get("/community/summary", "director").json()
    assert s["today_sessions"] == []
    (coming,) = s["next_sessions"]  # each market's next one
    assert (coming["day"], coming["booked"], coming["stalls"]) == (MARKET_DAY, 1, 2)
    assert (s["series"], s["venues"], s["stalls"]) == (2, 1, 2)
    assert s["next_fair"]["code"] == "F1" and s["jobs"]["openings"] == 2
    assert [(r["code"], r["signing_rate"], r["stage_label"]) for r in s["renovation"]] == [
        ("R1", 0.7, "居民签约")
    ]


def test_the_wall_screen_roles_read_the_summary_with_the_next_fairs_own_figures(
    api_c: Api, center: Center
) -> None:
    # a past fair with a post and an application: counted in the street's total, not in the next fair's
    files = center.community.files
    files.import_csv(
        ADMIN,
        STREET,
        ImportKind.JOB_FAIRS,
        "code,name,venue,starts_at,ends_at\nF0,秋季招聘会,V1,2026-11-05T09:00:00+08:00,2026-11-05T11:30:00+08:00\n",
    )
    files.import_csv(
        ADMIN, STREET, ImportKind.JOB_POSTS, "code,fair,employer,title,openings\nJ0,F0,hosp,导医,3\n"
    )
    files.import_csv(
        ADMIN, STREET, ImportKind.JOB_APPLICATIONS, "post,name,phone,status\nJ0,赵先生,13500000001,hired\n"
    )
    api_c.post(f"{P}/job-applications", None, json={"post": "J1", "name": "刘女士", "phone": "13600000001"})
    for who in ("admin", "director", "duty"):  # whoever opens the wall screen
        response = api_c.get("/community/summary", who)
        assert response.status_code == 200, (who, response.text)
    s = response.json()
    assert s["next_fair"]["code"] == "F1"
    fair = s["next_fair_jobs"]
    assert (fair["employers"], fair["posts"], fair["openings"], fair["applications"]) == (2, 2, 2, 1)
    total = s["jobs"]
    assert (total["employers"], total["posts"], total["openings"], total["applications"]) == (3, 3, 5, 2)
    assert [(r["code"], r["signed"], r["households"], r["threshold"]) for r in s["renovation"]] == [
        ("R1", 7, 10, 0.9)
    ]


def test_residents_shown_in_full_are_in_the_audit_log_and_masked_ones_are_not(api_c: Api) -> None:
    for made in (booking(), booking(stall="S2", slot=None, name="李伯伯")):
        assert api_c.post(f"{P}/bookings", None, json=made).status_code == 201
    doctor = stall_holder(api_c, "hosp")
    masked = api_c.client.get("/api/v1/community/bookings", headers=doctor, params={"since": MARKET_DAY})
    assert masked.json()[0]["phone"] == "138****5678"
    assert api_c.get("/community/volunteer-hours", "M1").status_code == 200  # masked for an area manager

    everyone = api_c.get("/community/bookings", "worker", params={"since": MARKET_DAY}).json()
    api_c.get("/community/party/units", "worker")

    logged = api_c.get("/audit", "admin", params={"action": "residents_viewed"}).json()
    assert [(e["role"], e["subject"]) for e in logged] == [
        ("community_worker", "party:T"),
        ("community_worker", "bookings:T"),
    ]
    assert logged[1]["action_label"] == "查看居民姓名与电话"
    assert logged[1]["details"] == {"count": 2, "ids": sorted(str(b["id"]) for b in everyone)}
    assert {b["name"] for b in everyone} == {"王阿姨", "李伯伯"}
    assert logged[0]["details"]["count"] > 0


@pytest.mark.parametrize(
    ("path", "subject", "masked_for"),
    [
        ("/community/volunteer-shifts/SH1/signups", "signups:T", None),  # the programs' staff only
        ("/community/job-applications", "applications:T", "M1"),
        ("/community/renovation/projects/R1", "households/R1:T", "M1"),
    ],
)
def test_each_list_of_residents_shown_in_full_is_logged_and_a_masked_one_is_not(
    api_c: Api, path: str, subject: str, masked_for: str | None
) -> None:
    api_c.post(f"{P}/job-applications", None, json={"post": "J1", "name": "刘女士", "phone": "13600000001"})
    api_c.post(f"{P}/volunteer-signups", None, json={"shift": "SH1", "name": "小陈", "phone": "13700000001"})
    if masked_for is not None:  # an area manager sees names and phones masked
        masked = api_c.get(path, masked_for)
        assert masked.status_code == 200, masked.text
        assert api_c.get("/audit", "admin", params={"action": "residents_viewed"}).json() == []

    shown = api_c.get(path, "worker")
    assert shown.status_code == 200, shown.text
    logged = api_c.get("/audit", "admin", params={"action": "residents_viewed"}).json()
    assert [(e["role"], e["subject"]) for e in logged] == [("community_worker", subject)]
    assert logged[0]["details"]["count"] > 0
