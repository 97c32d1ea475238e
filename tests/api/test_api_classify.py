"""POST /api/v1/classify, corrections, retraining, and replacing the category catalogue."""

from __future__ import annotations

from typing import Any

from apikit import Api, assert_error
from builders import DOG, DOG_TEXTS

TILE = "南京西路某商场门口人行道大理石地砖翘起，我晚上路过绊倒了手臂受伤"


def test_a_complaint_gets_three_candidates_with_the_tile_category_first(api: Api) -> None:
    response = api.post("/classify", "desk", json={"text": TILE})

    assert response.status_code == 200, response.text
    candidates = response.json()["candidates"]
    assert len(candidates) == 3
    assert (candidates[0]["code"], candidates[0]["name"]) == ("200101", "人行道板")
    assert candidates[0]["confidence"] > candidates[1]["confidence"] >= candidates[2]["confidence"] >= 0
    assert sum(c["confidence"] for c in candidates) <= 1.0
    # The 12345 system and field staff may ask too; another street's director may not ask about T.
    assert (
        api.post("/classify", "hotline", json={"text": "路灯不亮"}).json()["candidates"][0]["code"]
        == "100118"
    )
    assert api.post("/classify", "M1", json={"text": "路灯不亮", "street": "T"}).status_code == 200
    assert_error(
        api.post("/classify", "outsider", json={"text": "路灯不亮", "street": "T"}), 403, "forbidden"
    )


def test_bad_input_is_refused_before_any_model_is_built(api: Api) -> None:
    assert_error(api.post("/classify", "desk", json={"text": "   "}), 422, "empty_text")
    assert_error(api.post("/classify", "desk", json={"text": "路" * 10_000}), 422, "text_too_long")
    assert_error(api.post("/classify", "desk", json={"text": "路灯\u0000不亮"}), 422, "invalid_request")
    assert_error(api.post("/classify", "desk", json={}), 422, "invalid_request")
    assert_error(api.post("/classify", None, json={"text": "路灯不亮"}), 401, "unauthorized")
    unknown = {"text": "狗咬人", "code": "990001"}
    assert_error(api.post("/classifier/examples", "desk", json=unknown), 422, "unknown_category")
    assert_error(
        api.post("/classifier/examples", "M1", json={"text": "路灯不亮", "code": "100118"}), 403, "forbidden"
    )
    assert_error(api.post("/classifier/retrain", "desk"), 403, "forbidden")
    assert_error(api.put("/categories", "desk", json=[DOG]), 403, "forbidden")


def test_a_new_category_with_a_few_corrections_is_proposed_after_retraining(api: Api) -> None:
    catalogue: list[dict[str, Any]] = api.get("/categories", "desk").json()
    response = api.put("/categories", "duty", json=[*catalogue, DOG])
    assert response.status_code == 200, response.text
    assert response.json()[-1]["code"] == "990001"
    assert "990001" in {c["code"] for c in api.get("/categories", "desk").json()}
    for text in DOG_TEXTS:
        saved = api.post("/classifier/examples", "desk", json={"text": text, "code": "990001"})
        assert saved.status_code == 201, saved.text

    report = api.post("/classifier/retrain", "director", json={})

    assert report.status_code == 200, report.text
    assert (report.json()["corrections"], report.json()["categories"]) == (5, len(catalogue) + 1)
    assert report.json()["top1"] > 0.5
    best = api.post("/classify", "desk", json={"text": "楼下那条狗又咬伤了一个人"}).json()["candidates"][0]
    assert (best["code"], best["name"]) == ("990001", "犬只伤人")


def test_a_smaller_catalogue_limits_what_is_proposed(api: Api) -> None:
    catalogue = {c["code"]: c for c in api.get("/categories", "desk").json()}
    kept = [catalogue[c] for c in ("200101", "900101", "010101")]
    assert api.put("/categories", "admin", json=kept).status_code == 200

    candidates = api.post("/classify", "desk", json={"text": "路灯不亮"}).json()["candidates"]

    assert {c["code"] for c in candidates} == {"200101", "900101", "010101"}


def test_a_catalogue_with_bad_rows_is_refused_by_row_and_nothing_changes(api: Api) -> None:
    before = api.get("/categories", "desk").json()
    rows = [DOG, {"name": "无编码"}, DOG | {"code": "990002", "colour": "purple"}, DOG | {"policy": "nope"}]

    error = assert_error(api.put("/categories", "duty", json=rows), 422, "import_rejected")

    assert [e["row"] for e in error["details"]["errors"]] == [1, 2, 3]
    assert (
        "重复" in error["details"]["errors"][2]["reason"] or "nope" in error["details"]["errors"][2]["reason"]
    )
    assert api.get("/categories", "desk").json() == before
    assert_error(api.put("/categories", "duty", json=[]), 422, "import_rejected")
