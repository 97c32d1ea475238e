"""The unit of work: one transaction for all repositories; nothing stays unless committed."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from builders import POLICY, a_place, a_token, an_order
from chengyun.adapters.db.uow import SqlUnitOfWork, unit_of_work_factory
from chengyun.domain.errors import Conflict
from chengyun.services.ports import OrderQuery, UnitOfWorkFactory


def counts(uow_factory: UnitOfWorkFactory) -> tuple[int, int, int]:
    with uow_factory() as uow:
        return (
            uow.orders.search(OrderQuery()).total,
            len(uow.places.list("nanjingxi")),
            len(uow.tokens.list()),
        )


def test_an_uncommitted_unit_of_work_leaves_nothing_behind(uow_factory: UnitOfWorkFactory) -> None:
    order = an_order()
    with uow_factory() as uow:
        uow.orders.add(order, POLICY)
        uow.places.upsert([a_place()])
        uow.tokens.add(a_token(), "hash")

    assert counts(uow_factory) == (0, 0, 0)
    with uow_factory() as uow:
        assert order.id is not None
        assert uow.orders.timeline(order.id) == []


def test_an_exception_in_the_block_rolls_everything_back(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError), uow_factory() as uow:
        uow.orders.add(an_order(), POLICY)
        uow.places.upsert([a_place()])
        raise RuntimeError("the service failed halfway")

    assert counts(uow_factory) == (0, 0, 0)


def test_work_after_a_commit_is_discarded_unless_committed_again(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.orders.add(an_order(), POLICY)
        uow.commit()
        uow.places.upsert([a_place()])

    assert counts(uow_factory) == (1, 0, 0)


def test_rollback_discards_the_work_so_far_and_the_unit_goes_on(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.places.upsert([a_place()])
        uow.rollback()
        uow.tokens.add(a_token(), "hash")
        uow.commit()

    assert counts(uow_factory) == (0, 0, 1)


def test_a_unit_of_work_cannot_be_entered_twice_at_once(engine: Engine) -> None:
    uow = SqlUnitOfWork(engine)
    with uow, pytest.raises(RuntimeError, match="already open"):
        uow.__enter__()


def test_committing_outside_the_block_is_refused(engine: Engine) -> None:
    uow = SqlUnitOfWork(engine)
    with uow:
        pass
    with pytest.raises(RuntimeError, match="not open"):
        uow.commit()


def test_the_factory_makes_a_new_unit_of_work_each_time(engine: Engine) -> None:
    make = unit_of_work_factory(engine)

    first, second = make(), make()

    assert isinstance(first, SqlUnitOfWork) and first is not second


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_postgresql_deadlock_reaches_the_caller_as_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    one, two = an_order(), an_order()
    with uow_factory() as uow:
        uow.orders.add(one, POLICY)
        uow.orders.add(two, POLICY)
        uow.commit()
    assert one.id is not None and two.id is not None
    both_hold_one = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def lock_both(first: int, second: int) -> None:
        try:
            with uow_factory() as uow:
                uow.orders.get(first, for_update=True)
                both_hold_one.wait()
                uow.orders.get(second, for_update=True)
                uow.commit()
            outcomes.append("done")
        except Conflict as exc:
            assert exc.details["retriable"] is True
            outcomes.append("conflict")

    other = threading.Thread(target=lock_both, args=(two.id, one.id))
    other.start()
    lock_both(one.id, two.id)
    other.join()

    assert sorted(outcomes) == ["conflict", "done"]
