"""The intake route answers with OrderOut.json_of, built from plain values: it must be the very JSON the
validated model gives, for every kind of order the other routes show."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from builders import CLERK, DIRECTOR, MANAGER, POLICY, T0, an_order, at, dispatched
from chengyun.api.schemas import OrderOut
from chengyun.domain.access import Role
from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact, Satisfaction, WorkOrder
from street import person


def fresh() -> WorkOrder:
    order = an_order(
        point=Point(121.45, 31.22), attachments=("https://example.com/a.jpg",), external_id="x-1"
    )
    order.id = 7
    return order


def unlocated() -> WorkOrder:
    order = an_order(area=None, address="某处", complainant=Contact("", "021-5555 1234"))
    order.id = 8
    return order


def odd_text() -> WorkOrder:
    """What a caller may type: quotes, backslashes, control characters, emoji, line separators."""
    text = '门口"积水"\\路\t面\n塌陷\x00\x1f\x7f\u2028😀 </script> & 13812345678'
    order = an_order(description=text, address=text, point=Point(121.000001, 31.9999999))
    order.id = 11
    return order


def busy() -> WorkOrder:
    order = dispatched(an_order())
    order.id = 9
    order.request_extension(at(2), MANAGER, at(300), "等待物业配合")
    order.decide_extension(at(3), DIRECTOR, True, "同意", POLICY)
    order.supervise(at(4), DIRECTOR, "请尽快处置", 30)
    order.reply_supervision(at(5), MANAGER, 1, "已联系物业")
    order.respond(at(6), MANAGER, POLICY, "已电话联系")
    order.arrive(at(7), MANAGER, POLICY, Point(121.4737, 31.2304))
    order.make_plan(at(8), MANAGER, "更换井盖", at(60 * 24))
    return order


def closed_loop() -> WorkOrder:
    order = dispatched(an_order())
    order.id = 10
    order.respond(at(2), MANAGER, POLICY, "")
    order.arrive(at(3), MANAGER, POLICY, Point(121.4737, 31.2304))
    order.handle(at(4), MANAGER, "已修好", POLICY)
    order.close_loop(at(5), CLERK, "市民认可", Satisfaction.SATISFIED)
    return order


@pytest.mark.parametrize("build", [fresh, unlocated, odd_text, busy, closed_loop])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.AREA_MANAGER])
def test_json_of_is_the_models_json(build: object, role: Role) -> None:
    assert callable(build)
    order = build()
    actor = person(role, "m9" if role is Role.AREA_MANAGER else None)
    for now in (T0, T0 + timedelta(days=3)):
        model = OrderOut.of(order, actor, now, "井盖", "李专管")
        fast = OrderOut.json_of(order, actor, now, "井盖", "李专管")
        assert fast == model.model_dump_json().encode()
        assert OrderOut.model_validate(json.loads(fast)) == model
