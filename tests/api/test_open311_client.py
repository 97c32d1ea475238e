"""A real Open311 client against a real server: the PyPI `georeport` package (0.3.1) over HTTP.

georeport reads services, service definitions and requests (JSON, or XML through xmltodict); it has no
call to create a request, so the post is a plain form post with `requests`, as its users would write it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from georeport import GeoReport

from chengyun.api.app import create_app
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.domain.categories import Category
from liveserver import serving
from street import STREET

NOISE = "300201"
CATALOGUE = [
    {
        "code": NOISE,
        "name": "施工扰民",
        "major": "施工管理",
        "department": "fangban",
        "attributes": [
            {
                "code": "source",
                "description": "噪声来源",
                "datatype": "singlevaluelist",
                "required": True,
                "values": [{"key": "construction", "name": "施工"}, {"key": "shop", "name": "商铺"}],
            },
            {"code": "floors", "description": "影响楼层数", "datatype": "number"},
        ],
    },
    {"code": "200101", "name": "人行道板", "kind": "component", "major": "道路交通"},
]


@pytest.fixture
def root(center: Center) -> Iterator[str]:
    """The Open311 root of the test center served by uvicorn on a free port."""
    with center.uow() as uow:
        uow.config.set_categories(STREET, [Category.from_dict(c) for c in CATALOGUE])
        uow.commit()
    center.orders.forget_rules()
    with serving(create_app(center)) as url:
        yield f"{url}/open311/v2"


def test_georeport_lists_posts_and_reads_back(root: str, center: Center) -> None:
    key, _ = center.auth.issue(Role.HOTLINE_SYSTEM, [STREET], name="市民App")
    client = GeoReport(root, jurisdiction=STREET, api_key=key)

    services = client.get_service_list()
    noise = next(s for s in services if s["service_code"] == NOISE)
    assert (noise["service_name"], noise["metadata"]) == ("施工扰民", True)
    definition = client.get_service_definition(NOISE)
    required = [a["code"] for a in definition["attributes"] if a["required"]]
    assert required == ["source"]

    form = {
        "api_key": client.api_key,
        "jurisdiction_id": STREET,
        "service_code": NOISE,
        "lat": "31.2250",
        "long": "121.4420",
        "description": "工地夜里还在打桩",
        "attribute[source]": definition["attributes"][0]["values"][0]["key"],
        "last_name": "唐",
        "first_name": "女士",
        "phone": "13812345678",
    }
    response = requests.post(f"{root}/requests.json", data=form, timeout=10)
    assert response.status_code == 200, response.text
    request_id = response.json()[0]["service_request_id"]

    one = client.get_service_request(request_id)
    assert (one["service_request_id"], one["status"], one["service_code"]) == (request_id, "open", NOISE)
    assert one["description"] == "工地夜里还在打桩\n【附加信息】噪声来源：施工"
    listed = client.get_service_requests(status="open", service_code=NOISE)
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert "13812345678" not in requests.get(f"{root}/requests.json", timeout=10).text

    refused = requests.post(f"{root}/requests.json", data=form | {"api_key": "wrong"}, timeout=10)
    assert refused.status_code == 403
    assert refused.json()[0]["code"] == 403

    xml = GeoReport(root, jurisdiction=STREET, output_format="xml")
    names = [s["service_name"] for s in xml.get_service_list()]
    assert "施工扰民" in names
    assert xml.get_service_definition(NOISE)["service_code"] == NOISE
    read_back = xml.get_service_request(request_id)
    assert (read_back["service_request_id"], read_back["status"]) == (request_id, "open")
    assert xml.get_service_requests(service_request_id=request_id)["service_name"] == "施工扰民"
