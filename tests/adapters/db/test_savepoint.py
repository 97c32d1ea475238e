"""Savepoints in a unit of work: a block's failure undoes that block only (group commit relies on it)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from builders import POLICY, a_token, an_order
from chengyun.domain.errors import NotFound
from chengyun.services.ports import OrderQuery, UnitOfWorkFactory


class Refused(Exception):
    pass


def test_a_failed_block_is_undone_and_the_rest_of_the_transaction_is_kept(
    uow_factory: UnitOfWorkFactory,
) -> None:
    kept, undone, after = an_order(), an_order(description="第二件"), an_order(description="第三件")
    with uow_factory() as uow:
        uow.orders.add(kept, POLICY)
        with pytest.raises(Refused), uow.savepoint():
            uow.orders.add(undone, POLICY)
            raise Refused
        with uow.savepoint():
            uow.orders.add(after, POLICY)
        uow.commit()
    assert kept.id is not None and undone.id is not None and after.id is not None
    with uow_factory() as uow:
        assert [e.kind for e in uow.orders.timeline(kept.id)] == ["received"]
        assert uow.orders.get(after.id).description == "第三件"
        assert [e.kind for e in uow.orders.timeline(after.id)] == ["received"]
        if undone.id != after.id:  # PostgreSQL does not hand a sequence value out again; SQLite does
            with pytest.raises(NotFound):
                uow.orders.get(undone.id)
            assert uow.orders.timeline(undone.id) == []
        assert uow.orders.search(OrderQuery()).total == 2


def test_entries_of_earlier_work_written_out_in_a_failed_block_are_still_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    earlier = an_order()
    with uow_factory() as uow:
        uow.orders.add(earlier, POLICY)  # its entries wait to be written at commit
        assert earlier.id is not None
        with pytest.raises(Refused), uow.savepoint():
            uow.orders.timeline(earlier.id)  # a read writes the waiting entries out first
            raise Refused  # ... and the rollback to the savepoint takes them back
        uow.commit()
    with uow_factory() as uow:
        assert [e.kind for e in uow.orders.timeline(earlier.id)] == ["received"]


def test_a_database_error_in_a_block_leaves_the_transaction_usable(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.tokens.add(a_token("t1"), "hash-1")
        with pytest.raises(IntegrityError), uow.savepoint():
            uow.tokens.add(a_token("t1"), "hash-2")  # the same id again: the database refuses it
        uow.tokens.add(a_token("t2"), "hash-3")
        uow.commit()
    with uow_factory() as uow:
        assert sorted(t.id for t in uow.tokens.list()) == ["t1", "t2"]
