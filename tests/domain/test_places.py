"""Places from GeoJSON: the hierarchy is checked and every bad feature is reported at once."""

from __future__ import annotations

from typing import Any

import pytest

from chengyun.domain.errors import ImportRejected
from chengyun.domain.places import PlaceKind, places_from_geojson

SQUARE = [[[121.44, 31.22], [121.45, 31.22], [121.45, 31.23], [121.44, 31.23], [121.44, 31.22]]]


def feature(kind: str, code: str, parent: str | None, geometry: Any = None, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": geometry or {"type": "Polygon", "coordinates": SQUARE},
        "properties": {"kind": kind, "code": code, "name": f"{code}名", "parent": parent, **props},
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_a_street_with_areas_grids_and_buildings_is_accepted() -> None:
    places = places_from_geojson(
        collection(
            feature("street", "S", None),
            feature("area", "S-A1", "S", committee="嘉园居委会"),
            feature("grid", "S-A1-G1", "S-A1"),
            feature(
                "building",
                "S-B1",
                "S-A1-G1",
                {"type": "Point", "coordinates": [121.445, 31.225]},
                address="愚园路608弄6号",
                historic=True,
            ),
        ),
        "S",
    )
    assert [p.kind for p in places] == [PlaceKind.STREET, PlaceKind.AREA, PlaceKind.GRID, PlaceKind.BUILDING]
    assert places[3].props == {"address": "愚园路608弄6号", "historic": True}
    assert places[3].as_feature()["properties"]["code"] == "S-B1"


def test_every_bad_feature_is_listed_and_nothing_is_returned() -> None:
    with pytest.raises(ImportRejected) as rejected:
        places_from_geojson(
            collection(
                feature("street", "S", None),
                feature("area", "S-A1", "NOPE"),
                feature("grid", "S-G", "S"),
                feature("castle", "S-C", "S"),
                feature("area", "S-A2", "S", {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}),
                feature("building", "S-B", "S-A1", {"type": "Point", "coordinates": [200, 31]}),
                feature("area", "S", "S"),
            ),
            "S",
        )
    reasons = {(e["code"], e["reason"]) for e in rejected.value.details["errors"]}
    assert ("S-A1", "上级 NOPE 不存在") in reasons
    assert ("S-G", "单元网格的上级应为居民区") in reasons
    assert ("S-C", "未知的地点类型 'castle'") in reasons
    assert any(code == "S-A2" and "闭合" in reason for code, reason in reasons)
    assert any(code == "S-B" and "经纬度" in reason for code, reason in reasons)
    assert ("S", "编码重复") in reasons
    assert "未导入任何数据" in rejected.value.message


def test_parents_may_be_places_stored_earlier() -> None:
    places = places_from_geojson(
        collection(feature("grid", "S-A1-G2", "S-A1")), "S", {"S-A1": PlaceKind.AREA}
    )
    assert places[0].parent == "S-A1"


@pytest.mark.parametrize("bad", [{"type": "Feature"}, [], {"type": "FeatureCollection", "features": 3}])
def test_a_file_that_is_not_a_feature_collection_is_refused(bad: Any) -> None:
    with pytest.raises(ImportRejected):
        places_from_geojson(bad, "S")


def test_a_feature_of_another_street_is_refused() -> None:
    with pytest.raises(ImportRejected, match="错误"):
        places_from_geojson(collection(feature("street", "X", None, street="other")), "S")
