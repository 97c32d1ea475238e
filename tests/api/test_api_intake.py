"""Intake over HTTP: orders without a category, corrections, duplicates, check-ins and leave."""

from __future__ import annotations

from apikit import Api, assert_error

HERE = {"lon": 121.4421, "lat": 31.2251}


def test_an_order_may_come_as_words_and_an_address_only(api: Api) -> None:
    order = api.create(category=None)
    assert (order["category"], order["category_name"], order["assignee"]) == ("200101", "人行道板", "M1")
    kinds = [e["kind"] for e in api.timeline(order["id"])]
    assert kinds == ["received", "category_suggested", "first_contact_task", "dispatched"]


def test_the_desk_corrects_a_category_and_a_manager_may_not(api: Api) -> None:
    order_id = api.create()["id"]
    assert_error(api.act(order_id, "reclassify", "M1", category="100101"), 403, "forbidden")
    assert_error(api.act(order_id, "reclassify", "desk", category="999999"), 422, "unknown_category")
    assert_error(api.act(order_id, "reclassify", "desk", category="200101"), 422, "invalid_input")
    corrected = api.ok(order_id, "reclassify", "desk", category="100101", reason="实为井盖")
    assert (corrected["category"], corrected["category_name"]) == ("100101", "上水井盖")
    assert api.timeline(order_id)[-1]["note"] == "类别 200101 → 100101：实为井盖"


def test_a_repeat_report_lists_the_order_it_repeats(api: Api) -> None:
    first = api.create()["id"]
    again = api.create(description="愚园路608弄门口人行道地砖翘起来了，很危险")["id"]
    response = api.get(f"/orders/{again}/duplicates")
    assert response.status_code == 200
    (proposal,) = response.json()
    assert proposal["order_id"] == first and proposal["distance_m"] == 0
    assert 0 < proposal["similarity"] <= 1 and "疑似重复件" in proposal["reason"]
    assert api.get(f"/orders/{first}/duplicates", "outsider").status_code == 404
    merged = api.ok(again, "merge", "desk", into=first)
    assert merged["state"] == "merged"


def test_staff_check_in_their_position_and_systems_cannot(api: Api) -> None:
    assert api.post("/checkins", "M1", json={"position": HERE}).status_code == 204
    assert api.post("/checkins", "M1", json={"position": HERE, "crs": "gcj02"}).status_code == 204
    with api.center.uow() as uow:
        (where, _) = uow.people.positions("T", api.center.clock.now())["M1"]
    assert abs(where.lon - 121.4421) > 0.003  # a GCJ-02 point is moved back onto WGS-84
    assert_error(api.post("/checkins", "hotline", json={"position": HERE}), 422, "not_staff")
    assert_error(
        api.post("/checkins", "M1", json={"position": {"lon": 200, "lat": 31}}), 422, "invalid_request"
    )


def test_supervisors_record_leave_and_routing_respects_it(api: Api) -> None:
    leave = {
        "staff": "M1",
        "start": "2026-11-25T08:00:00+08:00",
        "end": "2026-11-25T18:00:00+08:00",
        "reason": "病假",
    }
    assert_error(api.post("/absences", "M1", json=leave), 403, "forbidden")
    assert_error(
        api.post("/absences", "duty", json=leave | {"end": "2026-11-25T07:00:00+08:00"}), 422, "invalid_input"
    )
    assert_error(api.post("/absences", "duty", json=leave | {"staff": "Z9"}), 422, "invalid_input")
    assert_error(
        api.post("/absences", "duty", json=leave | {"start": "2026-11-25T08:00:00"}), 422, "invalid_request"
    )
    created = api.post("/absences", "duty", json=leave)
    assert created.status_code == 201
    absence = created.json()
    assert (absence["staff"], absence["reason"]) == ("M1", "病假")
    assert [a["id"] for a in api.get("/absences").json()] == [absence["id"]]

    assert api.create()["assignee"] == "M2"

    assert api.delete(f"/absences/{absence['id']}", "duty").status_code == 204
    assert_error(api.delete(f"/absences/{absence['id']}", "duty"), 404, "not_found")
    assert api.create()["assignee"] == "M1"
