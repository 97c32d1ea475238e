"""Open311 GeoReport v2 at /open311/v2: form posts as the spec gives them, JSON and XML, every refusal."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from apikit import CHINESE, Api
from chengyun.adapters.clock import ManualClock
from chengyun.api.app import create_app
from chengyun.api.ratelimit import PublicLimits
from chengyun.bootstrap import Center, build
from chengyun.domain.access import Actor, Role
from chengyun.domain.categories import Category
from chengyun.services.orders import NewOrder
from chengyun.services.ports import OrderQuery
from chengyun.settings import Settings
from street import ADMIN, STREET

V2 = "/open311/v2"
INSIDE = {"lat": "31.2250", "long": "121.4420"}  # in area A1 of the test street
NOISE = "300201"

CATALOGUE: list[dict[str, Any]] = [
    {
        "code": "200101",
        "name": "人行道板",
        "kind": "component",
        "major": "道路交通",
        "department": "shirong",
        "colour": "yellow",
        "keywords": ["地砖", "人行道"],
    },
    {
        "code": NOISE,
        "name": "施工扰民",
        "kind": "event",
        "major": "施工管理",
        "department": "fangban",
        "colour": "yellow",
        "description": "夜间或午休时段施工噪声扰民",
        "keywords": ["施工", "噪声"],
        "attributes": [
            {
                "code": "source",
                "description": "噪声来源",
                "datatype": "singlevaluelist",
                "required": True,
                "values": [
                    {"key": "construction", "name": "施工"},
                    {"key": "shop", "name": "商铺"},
                ],
            },
            {"code": "floors", "description": "影响楼层数", "datatype": "number"},
            {
                "code": "times",
                "description": "发生时段",
                "datatype": "multivaluelist",
                "values": [{"key": "day", "name": "白天"}, {"key": "night", "name": "夜间"}],
            },
            {"code": "since", "description": "开始时间", "datatype": "datetime"},
        ],
    },
]


@pytest.fixture(autouse=True)
def catalogue(center: Center) -> None:
    """A catalogue of our own, with extra questions, so the tests do not depend on the built-in one."""
    with center.uow() as uow:
        uow.config.set_categories(STREET, [Category.from_dict(c) for c in CATALOGUE])
        uow.commit()
    center.orders.forget_rules()


def count(center: Center) -> int:
    return center.orders.search(ADMIN, OrderQuery(street=STREET, limit=1)).total


def errors_of(response: httpx.Response, status: int) -> str:
    """The spec's error body with this status: one error, its code the status, a Chinese description."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1, body
    assert set(body[0]) == {"code", "description"}, body
    assert body[0]["code"] == status
    assert CHINESE.search(body[0]["description"]), body
    return str(body[0]["description"])


def post(api: Api, fmt: str = "json", who: str | None = "hotline", **fields: str) -> httpx.Response:
    data = ({"api_key": api.token(who)} if who else {}) | fields
    return api.client.post(f"{V2}/requests.{fmt}", data=data)


def noise_report(**changes: str) -> dict[str, str]:
    fields = {
        "service_code": NOISE,
        **INSIDE,
        "description": "隔壁工地晚上十点还在打桩",
        "attribute[source]": "construction",
        "first_name": "女士",
        "last_name": "唐",
        "phone": "13812345678",
        "email": "tang@example.com",
    }
    return {k: v for k, v in (fields | changes).items() if v != ""}


def xml_of(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def test_discovery_names_the_endpoint_and_both_formats(client: TestClient) -> None:
    body = client.get(f"{V2}/discovery.json").json()
    (endpoint,) = body["endpoints"]
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = xml_of(client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


def test_services_come_from_the_street_catalogue(client: TestClient) -> None:
    services = client.get(f"{V2}/services.json", params={"jurisdiction_id": STREET}).json()
    by_code = {s["service_code"]: s for s in services}
    assert set(by_code) == {"200101", NOISE}
    assert by_code[NOISE] == {
        "service_code": NOISE,
        "service_name": "施工扰民",
        "description": "夜间或午休时段施工噪声扰民",
        "metadata": True,
        "type": "realtime",
        "keywords": "施工,噪声",
        "group": "施工管理",
    }
    assert by_code["200101"]["metadata"] is False
    # jurisdiction_id may be left out while the deployment has one street
    assert client.get(f"{V2}/services.json").json() == services

    root = xml_of(client.get(f"{V2}/services.xml"))
    assert root.tag == "services"
    noise = next(s for s in root.findall("service") if s.findtext("service_code") == NOISE)
    assert noise.findtext("service_name") == "施工扰民"
    assert noise.findtext("metadata") == "true"


def test_service_definition_lists_the_extra_questions(client: TestClient) -> None:
    definition = client.get(f"{V2}/services/{NOISE}.json").json()
    assert definition["service_code"] == NOISE
    source, floors, times, since = definition["attributes"]
    assert source == {
        "variable": True,
        "code": "source",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": source["datatype_description"],
        "order": 1,
        "description": "噪声来源",
        "values": [{"key": "construction", "name": "施工"}, {"key": "shop", "name": "商铺"}],
    }
    assert CHINESE.search(source["datatype_description"])
    assert [a["order"] for a in (floors, times, since)] == [2, 3, 4]
    assert (floors["datatype"], floors["required"], floors["values"]) == ("number", False, [])
    # the singular path some old clients call
    assert client.get(f"{V2}/service/{NOISE}.json").json() == definition
    assert client.get(f"{V2}/services/200101.json").json() == {"service_code": "200101", "attributes": []}

    root = xml_of(client.get(f"{V2}/services/{NOISE}.xml"))
    assert root.tag == "service_definition"
    first = root.find("attributes/attribute")
    assert first is not None and first.findtext("code") == "source"
    assert [v.findtext("name") for v in first.findall("values/value")] == ["施工", "商铺"]

    errors_of(client.get(f"{V2}/services/999999.json"), 404)
    root = xml_of(client.get(f"{V2}/services/999999.xml"))
    assert root.tag == "errors" and root.findtext("error/code") == "404"


def test_a_form_post_creates_a_citizen_order(api: Api, center: Center) -> None:
    response = post(api, **noise_report(**{"attribute[floors]": "3", "attribute[times][]": "night"}))
    assert response.status_code == 200, response.text
    (created,) = response.json()
    assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    assert CHINESE.search(created["service_notice"])
    order = center.orders.get(ADMIN, int(created["service_request_id"]))
    assert order.source.value == "citizen_app"
    assert order.category == NOISE
    assert order.location.area == "A1"  # located from lat/long, and dispatched to A1's manager
    assert order.assignee == "M1"
    assert order.description == (
        "隔壁工地晚上十点还在打桩\n【附加信息】噪声来源：施工；影响楼层数：3；发生时段：夜间"
    )
    (contact,) = order.complainants
    assert (contact.name, contact.phone) == ("唐女士", "13812345678")

    token = created["token"]
    assert api.client.get(f"{V2}/tokens/{token}.json").json() == [
        {"service_request_id": created["service_request_id"], "token": token}
    ]
    root = xml_of(api.client.get(f"{V2}/tokens/{token}.xml"))
    assert root.findtext("request/service_request_id") == created["service_request_id"]
    errors_of(api.client.get(f"{V2}/tokens/cy311-999999.json"), 404)
    errors_of(api.client.get(f"{V2}/tokens/nonsense.json"), 404)


def test_json_bodies_query_keys_xml_answers_and_address_only(api: Api, center: Center) -> None:
    body = {
        "service_code": NOISE,
        "address_string": "愚园路608弄6号",
        "description": "商铺音响太吵",
        "attribute": {"source": "shop", "times": ["day", "night"]},
        "account_id": "u-42",
    }
    response = api.client.post(
        f"{V2}/requests.json", params={"api_key": api.token("hotline"), "jurisdiction_id": STREET}, json=body
    )
    assert response.status_code == 200, response.text
    (created,) = response.json()
    assert created["account_id"] == "u-42"
    order = center.orders.get(ADMIN, int(created["service_request_id"]))
    assert order.location.area == "A1"  # the address is a known building
    assert order.description.endswith("【附加信息】噪声来源：商铺；发生时段：白天、夜间")
    assert order.complainants == []

    root = xml_of(post(api, "xml", service_code="200101", address_id="B2", description="地砖松动"))
    assert root.tag == "service_requests"
    order = center.orders.get(ADMIN, int(root.findtext("request/service_request_id") or 0))
    assert (order.location.area, order.location.address) == ("A2", "南京西路1618号")


def test_the_bootstrap_token_works_as_api_key(database_url: str, center: Center, clock: ManualClock) -> None:
    settings = Settings(database_url=database_url, run_worker=False, bootstrap_token="boot-secret-311")
    other = build(settings, clock=clock, migrate=False)
    try:
        with TestClient(create_app(other)) as client:
            data = {
                "api_key": "boot-secret-311",
                "service_code": "200101",
                **INSIDE,
                "description": "地砖翘起",
            }
            response = client.post(f"{V2}/requests.json", data=data)
            assert response.status_code == 200, response.text
            assert count(center) == 1
    finally:
        other.stop()


def test_every_bad_post_is_a_clear_error_and_stores_nothing(api: Api, center: Center) -> None:
    # more posts than a client may send in a minute (429; test_api_ratelimit.py): the limit is lifted here
    api.client.app.state.public_limits = PublicLimits(0, 0)
    revoked = api.token("patrol")
    center.auth.revoke(api.token_id("patrol"))
    cases: list[tuple[dict[str, str], str | None, int, str]] = [
        # fields, who (None: no api_key), status, a word of the description
        (noise_report(), None, 403, "api_key"),
        (noise_report(api_key="cy_not-a-token"), None, 403, "api_key"),
        (noise_report(api_key=revoked), None, 403, "吊销"),
        (noise_report(jurisdiction_id="X"), "hotline", 404, "jurisdiction_id"),
        (noise_report(service_code=""), "hotline", 400, "service_code"),
        (noise_report(service_code="999999"), "hotline", 400, "999999"),
        (noise_report(lat="", long=""), "hotline", 400, "位置"),
        (noise_report(long=""), "hotline", 400, "lat"),
        (noise_report(lat="north"), "hotline", 400, "lat"),
        (noise_report(lat="95"), "hotline", 400, "lat"),
        (noise_report(lat="NaN"), "hotline", 400, "lat"),
        (noise_report(lat="31.300", long="121.500"), "hotline", 400, "范围"),
        (noise_report(lat="", long="", address_id="NOPE"), "hotline", 400, "address_id"),
        (noise_report(**{"attribute[source]": ""}), "hotline", 400, "噪声来源"),
        (noise_report(**{"attribute[source]": "party"}), "hotline", 400, "施工"),
        (noise_report(**{"attribute[floors]": "many"}), "hotline", 400, "数字"),
        (noise_report(**{"attribute[times][]": "dawn"}), "hotline", 400, "发生时段"),
        (noise_report(**{"attribute[since]": "yesterday"}), "hotline", 400, "since"),
        (noise_report(**{"attribute[colour]": "red"}), "hotline", 400, "colour"),
        (noise_report(phone="call me"), "hotline", 400, "phone"),
        (noise_report(email="not-an-address"), "hotline", 400, "email"),
        (noise_report(media_url="javascript:alert(1)"), "hotline", 400, "media_url"),
        (noise_report(description="长" * 5001), "hotline", 400, "5000"),
        (noise_report(description="bad\x00text"), "hotline", 400, "NUL"),
        (noise_report(jurisdiction_id=STREET), "outsider", 403, "无权"),  # a key of another street
    ]
    before = count(center)
    for fields, who, status, word in cases:
        response = post(api, who=who, **fields)
        description = errors_of(response, status)
        assert word in description, (fields, description)
        assert count(center) == before, fields
    # the same refusals in XML
    root = xml_of(post(api, "xml", who=None, **noise_report()))
    assert (root.tag, root.findtext("error/code")) == ("errors", "403")
    assert CHINESE.search(root.findtext("error/description") or "")
    response = api.client.post(
        f"{V2}/requests.json",
        params={"api_key": api.token("hotline")},
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    errors_of(response, 400)
    response = api.client.post(
        f"{V2}/requests.json", content=b"<x/>", headers={"content-type": "application/xml"}
    )
    errors_of(response, 400)
    assert count(center) == before


def test_wrong_paths_formats_and_methods_answer_in_the_open311_shape(client: TestClient) -> None:
    errors_of(client.get(f"{V2}/requests.csv"), 404)
    errors_of(client.post(f"{V2}/requests.csv", data={}), 404)
    errors_of(client.get(f"{V2}/nothing.json"), 404)
    errors_of(client.delete(f"{V2}/requests.json"), 405)
    root = xml_of(client.put(f"{V2}/requests.xml"))
    assert root.findtext("error/code") == "405"


def _noise(api: Api, **changes: str) -> int:
    response = post(api, **noise_report(**changes))
    assert response.status_code == 200, response.text
    return int(response.json()[0]["service_request_id"])


def _close(api: Api, order_id: int) -> None:
    api.ok(order_id, "respond", "M1")
    api.ok(order_id, "arrive", "M1", position={"lon": 121.442, "lat": 31.225})
    api.ok(order_id, "handle", "M1", note="已责令工地停工，联系人 13900000001")
    api.ok(order_id, "close-loop", "desk", note="已电话回访，居民满意")
    api.ok(order_id, "close", "desk")


def test_a_request_as_a_citizen_sees_it(api: Api, center: Center) -> None:
    order_id = _noise(
        api, description="我的电话 13812345678，工地夜间施工", media_url="https://img.example/1.jpg"
    )
    (item,) = api.client.get(f"{V2}/requests/{order_id}.json").json()
    assert item == {
        "service_request_id": str(order_id),
        "status": "open",
        "status_notes": "已派遣给属地专管员，等待响应",
        "service_name": "施工扰民",
        "service_code": NOISE,
        "description": "我的电话 138****5678，工地夜间施工\n【附加信息】噪声来源：施工",
        "agency_responsible": "房办",
        "service_notice": "按「51530 标准时限」办理：5 分钟内响应，15 分钟内到场，"
        "到场后 30 分钟内处置或明确方案，30 分钟内反馈结果",
        "requested_datetime": "2026-11-25T09:00:00+08:00",
        "updated_datetime": "2026-11-25T09:00:00+08:00",
        # 51530: arrive by 09:15, handle within 30 minutes of arriving, close the loop 30 minutes later
        "expected_datetime": "2026-11-25T10:15:00+08:00",
        "address": None,
        "address_id": "B1",  # the building at that point
        "zipcode": None,
        "lat": 31.225,
        "long": 121.442,
        "media_url": "https://img.example/1.jpg",
    }

    _close(api, order_id)
    (item,) = api.client.get(f"{V2}/requests/{order_id}.json").json()
    assert item["status"] == "closed"
    assert item["expected_datetime"] is None
    assert item["status_notes"].startswith("已办结")
    text = api.client.get(f"{V2}/requests/{order_id}.xml").text + api.client.get(f"{V2}/requests.json").text
    for private in ("13812345678", "tang@example.com", "唐女士", "13900000001", "李思远", "M1"):
        assert private not in text, private

    errors_of(api.client.get(f"{V2}/requests/999999.json"), 404)
    errors_of(api.client.get(f"{V2}/requests/abc.json"), 404)
    root = xml_of(api.client.get(f"{V2}/requests/{order_id}.xml"))
    assert root.tag == "service_requests"
    assert root.findtext("request/status") == "closed"
    assert root.findtext("request/zipcode") == ""  # an empty element for null


def test_duplicates_are_closed_and_say_where_they_went(api: Api) -> None:
    first, second = _noise(api), _noise(api)
    api.ok(second, "merge", "desk", into=first)
    (item,) = api.client.get(f"{V2}/requests/{second}.json").json()
    assert item["status"] == "closed"
    assert str(first) in item["status_notes"] and "并案" in item["status_notes"]


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [int(r["service_request_id"]) for r in response.json()]


def test_list_filters_paging_and_their_errors(api: Api, center: Center, clock: ManualClock) -> None:
    old = _noise(api)  # 2026-11-25 09:00
    clock.advance(days=95)
    tiles = []
    for _ in range(3):
        clock.advance(minutes=10)
        response = post(api, service_code="200101", **INSIDE, description="地砖翘起")
        tiles.append(int(response.json()[0]["service_request_id"]))
    clock.advance(minutes=10)
    noise = _noise(api)
    _close(api, tiles[0])
    get = api.client.get
    newest_first = [noise, *reversed(tiles)]

    response = get(f"{V2}/requests.json")
    assert ids(response) == newest_first  # the last 90 days by default: not the old one
    assert response.headers["x-total-count"] == "4"
    assert ids(get(f"{V2}/requests.json", params={"status": "closed"})) == [tiles[0]]
    assert ids(get(f"{V2}/requests.json", params={"status": "open"})) == [noise, tiles[2], tiles[1]]
    assert ids(get(f"{V2}/requests.json", params={"status": "open,closed"})) == newest_first
    assert ids(get(f"{V2}/requests.json", params={"service_code": NOISE})) == [noise]
    assert ids(get(f"{V2}/requests.json", params={"service_code": f"200101,{NOISE}"})) == newest_first
    two_codes = {"service_code": f"{NOISE},200101", "page_size": "2", "page": "2"}
    assert ids(get(f"{V2}/requests.json", params=two_codes)) == newest_first[2:]
    window = {"start_date": "2026-11-25T00:00:00Z", "end_date": "2026-11-26T00:00:00Z"}
    assert ids(get(f"{V2}/requests.json", params=window)) == [old]
    assert ids(get(f"{V2}/requests.json", params={"start_date": "2026-11-25T01:00:00Z"})) == [old]
    # an exact end_date includes a request made at that very moment
    assert ids(get(f"{V2}/requests.json", params={"end_date": "2026-11-25T09:00:00+08:00"})) == [old]
    assert ids(get(f"{V2}/requests.json", params={"service_request_id": f"{old},{noise}"})) == [noise, old]
    assert ids(get(f"{V2}/requests.json", params={"page_size": "2"})) == newest_first[:2]
    response = get(f"{V2}/requests.json", params={"page_size": "2", "page": "2"})
    assert ids(response) == newest_first[2:]
    assert response.headers["x-total-count"] == "4"
    assert ids(get(f"{V2}/requests.json", params={"page_size": "2", "page": "3"})) == []
    root = xml_of(get(f"{V2}/requests.xml", params={"status": "closed"}))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [str(tiles[0])]

    for params, word in [
        ({"status": "pending"}, "status"),
        ({"start_date": "last week"}, "start_date"),
        ({"start_date": "2026-11-25T00:00:00"}, "时区"),
        ({"end_date": "2026-13-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-11-26T00:00:00Z", "end_date": "2026-11-25T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-25T00:00:00Z"}, "90"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": "1001"}, "page_size"),
        ({"service_code": "999999"}, "999999"),
        ({"service_request_id": "1,two"}, "service_request_id"),
    ]:
        assert word in errors_of(get(f"{V2}/requests.json", params=params), 400), params


def test_another_street_is_out_of_sight(api: Api, center: Center) -> None:
    mine = _noise(api)
    x_admin = Actor(Role.ADMIN, frozenset({"X"}), None, "X 管理员", "x-admin")
    square = [[[121.50, 31.30], [121.51, 31.30], [121.51, 31.31], [121.50, 31.31], [121.50, 31.30]]]
    places = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": square},
                "properties": {"kind": kind, "code": code, "name": code, "parent": parent},
            }
            for kind, code, parent in (("street", "X", None), ("area", "XA", "X"))
        ],
    }
    center.directory.import_places(x_admin, "X", places)
    theirs = center.orders.create(
        x_admin,
        NewOrder(source="hotline", category="200101", description="地砖", street="X", address="某路1号"),
    ).order.id
    get = api.client.get
    # two streets now: the public must say which one
    assert "jurisdiction_id" in errors_of(get(f"{V2}/requests.json"), 400)
    assert ids(get(f"{V2}/requests.json", params={"jurisdiction_id": STREET})) == [mine]
    errors_of(get(f"{V2}/requests/{theirs}.json", params={"jurisdiction_id": STREET}), 404)
    assert ids(get(f"{V2}/requests/{theirs}.json", params={"jurisdiction_id": "X"})) == [theirs]
    errors_of(get(f"{V2}/requests.json", params={"jurisdiction_id": "NOPE"}), 404)
    # a key of one street still needs no jurisdiction_id to post
    assert post(api, **noise_report()).status_code == 200
