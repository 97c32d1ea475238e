"""Savepoints in a unit of work: a block's failure undoes that block only (group commit relies on it)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from builders import POLICY, a_token, an_order
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.uow import unit_of_work_factory
from chengyun.domain.errors import NotFound, Unavailable
from chengyun.services.ports import GradeRecord, OrderQuery, UnitOfWorkFactory


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


def test_blocks_in_a_row_each_keep_or_lose_their_own_work(uow_factory: UnitOfWorkFactory) -> None:
    # As a group commit's batch: each piece of work in a block of its own, one after the other.
    first, second, third, fourth = (an_order(description=f"第{n}件") for n in "一二三四")
    with uow_factory() as uow:
        for order in (first, second):
            with uow.savepoint():
                uow.orders.add(order, POLICY)
        with pytest.raises(IntegrityError), uow.savepoint():
            uow.orders.add(third, POLICY)
            uow.tokens.add(a_token("t1"), "hash-1")
            uow.tokens.add(a_token("t1"), "hash-2")  # refused by the database: the block is undone
        with uow.savepoint():
            uow.orders.add(fourth, POLICY)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.orders.search(OrderQuery()).items
        assert sorted(o.description for o in stored) == ["第一件", "第二件", "第四件"]
        assert uow.tokens.list() == []


def test_a_failed_block_undoes_the_blocks_that_succeeded_inside_it(uow_factory: UnitOfWorkFactory) -> None:
    before, outer, inner, outer_after = (an_order(description=d) for d in ("之前", "外层", "内层", "之后"))
    with uow_factory() as uow:
        with uow.savepoint():
            uow.orders.add(before, POLICY)
        with pytest.raises(IntegrityError), uow.savepoint():
            uow.orders.add(outer, POLICY)
            with uow.savepoint():
                uow.orders.add(inner, POLICY)
            uow.orders.add(outer_after, POLICY)
            uow.tokens.add(a_token("t1"), "hash-1")
            uow.tokens.add(a_token("t1"), "hash-2")  # the database refuses it after the inner block
        uow.commit()
    with uow_factory() as uow:
        assert [o.description for o in uow.orders.search(OrderQuery()).items] == ["之前"]


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


def test_a_database_error_on_the_driver_path_is_sqlalchemys_and_leaves_the_transaction_usable(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # A grade record is written on the driver's own cursor (sqlite3 or psycopg), not through SQLAlchemy.
    order = an_order()
    with uow_factory() as uow:
        uow.orders.add(order, POLICY)
        assert order.id is not None
        with pytest.raises(IntegrityError), uow.savepoint():
            uow.grades.save(
                GradeRecord(order.id + 1000, order.street, repeats=1, graded_at=order.received_at)
            )
        uow.grades.save(GradeRecord(order.id, order.street, repeats=2, graded_at=order.received_at))
        uow.commit()
    with uow_factory() as uow:
        record = uow.grades.get(order.id)
        assert record is not None and record.repeats == 2
        assert uow.grades.get(order.id + 1000) is None


@pytest.mark.postgres
def test_a_connection_lost_in_the_middle_of_a_batch_is_unavailable_for_every_later_block(
    postgres_url: str,
) -> None:
    """The database goes away while a group commit's batch is being stored: the block that meets the
    outage, every later block and the commit each answer Unavailable (a 503 the caller retries), never a
    driver error the API would call a bug."""
    engine = make_engine(postgres_url)
    try:
        uow_factory = unit_of_work_factory(engine)
        with uow_factory() as uow:
            uow.orders.add(an_order(), POLICY)
            pid = uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(Unavailable), uow.savepoint():
                uow.orders.add(an_order(), POLICY)
            with pytest.raises(Unavailable), uow.savepoint():
                uow.orders.add(an_order(), POLICY)
            with pytest.raises(Unavailable):
                uow.commit()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_repository_call_after_the_connection_was_lost_is_unavailable_outside_a_savepoint(
    postgres_url: str,
) -> None:
    """A caller that met the outage and carried on in the same transaction (a read after a failed
    write, say) gets Unavailable again from the next statement, not SQLAlchemy's PendingRollbackError
    (which the API would answer with a 500)."""
    engine = make_engine(postgres_url)
    try:
        uow_factory = unit_of_work_factory(engine)
        with uow_factory() as uow:
            pid = uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(Unavailable):
                uow.orders.add(an_order(), POLICY)
            with pytest.raises(Unavailable):
                uow.orders.search(OrderQuery())
            with pytest.raises(Unavailable):
                uow.sensors.reading_count()
    finally:
        engine.dispose()
