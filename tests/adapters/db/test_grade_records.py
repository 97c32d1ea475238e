"""A grade record (five-colour grading's memory of an order between changes) is stored and replaced
whole, sets and colours included, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from builders import POLICY, an_order
from chengyun.domain.severity import Colour
from chengyun.services.ports import GradeRecord, UnitOfWorkFactory


def test_a_grade_record_is_stored_and_replaced_whole(uow_factory: UnitOfWorkFactory) -> None:
    order = an_order()
    with uow_factory() as uow:
        uow.orders.add(order, POLICY)
        uow.commit()
    assert order.id is not None
    first = GradeRecord(
        order.id,
        order.street,
        reported=Colour.ORANGE,
        repeats=2,
        sticky=frozenset({"night_noise", "school_zone"}),
        graded_at=datetime(2026, 12, 7, 5, 0, 0, 250000, tzinfo=UTC),
    )
    with uow_factory() as uow:
        uow.grades.save(first)
        uow.commit()
    with uow_factory() as uow:
        assert uow.grades.get(order.id) == first
    second = GradeRecord(
        order.id,
        order.street,
        repeats=3,
        manual=Colour.RED,
        absorbed=frozenset({"night_noise"}),
        graded_at=datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC),
    )
    with uow_factory() as uow:
        uow.grades.save(second)
        uow.commit()
    with uow_factory() as uow:
        assert uow.grades.get(order.id) == second
