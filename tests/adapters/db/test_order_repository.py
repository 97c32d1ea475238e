"""Orders in the database: round trips, an append-only timeline, optimistic locking, due alerts, keys."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from builders import (
    CLERK,
    DIRECTOR,
    MANAGER,
    OTHER_STREET,
    POLICY,
    RED_POLICY,
    STREET,
    an_order,
    at,
    dispatched,
)
from chengyun.adapters.db import tables
from chengyun.adapters.db.engine import make_engine
from chengyun.adapters.db.grading import _reports_statement
from chengyun.adapters.db.repositories import _similar_statement
from chengyun.domain.duplicates import Candidate
from chengyun.domain.errors import Conflict, NotFound
from chengyun.domain.geo import Point
from chengyun.domain.orders import Contact, OrderState, Satisfaction, WorkOrder
from chengyun.domain.severity import Colour
from chengyun.domain.sla import Stage
from chengyun.services.ports import OrderQuery, UnitOfWorkFactory


def stored(uow_factory: UnitOfWorkFactory, *orders: WorkOrder) -> list[int]:
    with uow_factory() as uow:
        for order in orders:
            uow.orders.add(order, POLICY)
        uow.commit()
    return [o.id for o in orders if o.id is not None]


def reload(uow_factory: UnitOfWorkFactory, order_id: int) -> WorkOrder:
    with uow_factory() as uow:
        return uow.orders.get(order_id)


def without_new_entries(order: WorkOrder) -> WorkOrder:
    return dataclasses.replace(order, new_entries=[])


def datetimes_of(order: WorkOrder) -> list[datetime]:
    values: list[datetime | None] = [
        order.received_at,
        order.updated_at,
        order.suspended_at,
        order.planned_for,
    ]
    for clock in order.clocks.values():
        values += [clock.started_at, clock.due_at, clock.done_at]
    for extension in order.extensions:
        values += [extension.requested_at, extension.until, extension.decided_at]
    for supervision in order.supervisions:
        values += [supervision.issued_at, supervision.reply_due_at, supervision.replied_at]
    return [v for v in values if v is not None]


def a_busy_order() -> WorkOrder:
    """An order that has been through most of what an order goes through, in +08:00 times."""
    order = dispatched(an_order(attachments=("photo-1.jpg",), external_id="12345-0001"), at(1))
    order.respond(at(2), MANAGER, POLICY, "已电话联系", Point(121.4741, 31.2311))
    order.request_extension(at(3), MANAGER, at(40), "需要物业配合", Stage.ARRIVE)
    order.decide_extension(at(4), DIRECTOR, True, "同意", POLICY)
    order.supervise(at(5), DIRECTOR, "尽快到场", 30)
    order.reply_supervision(at(6), MANAGER, 1, "已在路上")
    order.supervise(at(7), DIRECTOR, "请汇报进展", 30)
    order.arrive(at(8), MANAGER, POLICY, Point(121.4742, 31.2312))
    order.make_plan(at(9), MANAGER, "更换井盖，需订货", at(60 * 24))
    order.suspend(at(10), DIRECTOR, "等待井盖到货")
    return order


# --- round trips ---------------------------------------------------------------------------------


def test_an_order_with_clocks_extensions_supervisions_and_complainants_reloads_equal(
    uow_factory: UnitOfWorkFactory,
) -> None:
    order = a_busy_order()
    (order_id,) = stored(uow_factory, order)

    again = reload(uow_factory, order_id)

    assert again == without_new_entries(order)
    assert again.state is OrderState.SUSPENDED and again.suspended_from is OrderState.PLANNED
    assert len(again.clocks) == 4 and len(again.extensions) == 1 and len(again.supervisions) == 2


def test_every_reloaded_datetime_is_timezone_aware_utc(uow_factory: UnitOfWorkFactory) -> None:
    (order_id,) = stored(uow_factory, a_busy_order())

    again = reload(uow_factory, order_id)
    entries = reload_timeline(uow_factory, order_id)

    values = datetimes_of(again) + [e.at for e in entries]
    assert len(values) > 20
    assert all(v.tzinfo is UTC for v in values), [v.tzinfo for v in values if v.tzinfo is not UTC]


def test_a_merged_duplicate_and_its_target_reload_with_the_merge(uow_factory: UnitOfWorkFactory) -> None:
    target = dispatched(an_order())
    duplicate = an_order(now=at(3), complainant=Contact("李四", "13912345678"))
    stored(uow_factory, target, duplicate)

    with uow_factory() as uow:
        assert duplicate.id is not None and target.id is not None
        duplicate.merge_into(at(4), CLERK, target, "重复工单")
        uow.orders.save(duplicate, POLICY)
        uow.orders.save(target, POLICY)
        uow.commit()

    assert reload(uow_factory, duplicate.id) == without_new_entries(duplicate)
    again = reload(uow_factory, target.id)
    assert again == without_new_entries(target)
    assert again.complainants == [Contact("张三", "13800001234"), Contact("李四", "13912345678")]
    assert reload(uow_factory, duplicate.id).merged_into == target.id


def a_closed_order() -> WorkOrder:
    order = dispatched(an_order())
    order.respond(at(2), MANAGER, POLICY)
    order.arrive(at(5), MANAGER, POLICY, Point(121.47, 31.23))
    order.handle(at(20), MANAGER, "已更换井盖", POLICY, ["after.jpg"])
    order.close_loop(at(30), CLERK, "市民确认", Satisfaction.SATISFIED)
    order.close(at(31), CLERK)
    return order


def test_a_closed_order_keeps_its_satisfaction_and_done_clocks(uow_factory: UnitOfWorkFactory) -> None:
    order = a_closed_order()
    (order_id,) = stored(uow_factory, order)

    again = reload(uow_factory, order_id)

    assert again == without_new_entries(order)
    assert again.satisfaction is Satisfaction.SATISFIED
    assert all(not c.pending for c in again.clocks.values())


def test_an_order_without_a_point_reloads_without_one(uow_factory: UnitOfWorkFactory) -> None:
    order = an_order()
    order = dataclasses.replace(order, location=dataclasses.replace(order.location, point=None))
    (order_id,) = stored(uow_factory, order)

    assert reload(uow_factory, order_id).location.point is None


def test_adding_gives_an_id_and_version_one_and_keeps_the_new_entries_for_the_events(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first, second = an_order(), an_order()
    stored(uow_factory, first, second)

    assert first.id is not None and second.id is not None and second.id > first.id
    assert first.version == 1
    assert [e.kind for e in first.new_entries] == ["received"]


def test_getting_a_missing_order_raises_not_found(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(NotFound, match="工单 999 不存在"):
        uow.orders.get(999)


def test_getting_for_update_returns_the_same_order(uow_factory: UnitOfWorkFactory) -> None:
    order = an_order()
    (order_id,) = stored(uow_factory, order)

    with uow_factory() as uow:
        assert uow.orders.get(order_id, for_update=True) == without_new_entries(order)


# --- the timeline --------------------------------------------------------------------------------


def reload_timeline(uow_factory: UnitOfWorkFactory, order_id: int) -> list:  # type: ignore[type-arg]
    with uow_factory() as uow:
        return uow.orders.timeline(order_id)


def timeline_rows(engine: Engine) -> list[tuple[int, int, int, str]]:
    t = tables.timeline.c
    with engine.connect() as connection:
        rows = connection.execute(select(t.id, t.order_id, t.seq, t.note).order_by(t.id))
        return [(r.id, r.order_id, r.seq, r.note) for r in rows]


def test_the_timeline_holds_every_entry_of_the_order_in_sequence(uow_factory: UnitOfWorkFactory) -> None:
    order = a_busy_order()
    expected = list(order.new_entries)
    (order_id,) = stored(uow_factory, order)

    assert reload_timeline(uow_factory, order_id) == expected


def test_the_latest_entry_of_a_kind_is_found_for_a_page_of_orders(uow_factory: UnitOfWorkFactory) -> None:
    busy, plain = a_busy_order(), dispatched(an_order())
    busy_id, plain_id = stored(uow_factory, busy, plain)
    with uow_factory() as uow:
        found = uow.orders.last_entries({busy_id: "supervised", plain_id: "responded"})

    assert list(found) == [busy_id]
    assert (found[busy_id].kind, found[busy_id].note) == ("supervised", "督办：请汇报进展")


def test_saving_appends_only_the_new_entries_and_leaves_stored_rows_untouched(
    uow_factory: UnitOfWorkFactory, engine: Engine
) -> None:
    order = dispatched(an_order())
    (order_id,) = stored(uow_factory, order)
    before = timeline_rows(engine)

    with uow_factory() as uow:
        loaded = uow.orders.get(order_id, for_update=True)
        loaded.respond(at(2), MANAGER, POLICY, "马上联系")
        uow.orders.save(loaded, POLICY)
        uow.commit()

    after = timeline_rows(engine)
    assert after[: len(before)] == before
    assert [(seq, note) for _, _, seq, note in after[len(before) :]] == [(3, "马上联系")]


def test_saving_right_after_adding_does_not_store_the_added_entries_twice(
    uow_factory: UnitOfWorkFactory,
) -> None:
    order = an_order()
    with uow_factory() as uow:
        uow.orders.add(order, POLICY)
        dispatched(order, at(1))  # the events of the add were not taken: new_entries still has them
        uow.orders.save(order, POLICY)
        uow.commit()

    assert order.id is not None
    assert [e.seq for e in reload_timeline(uow_factory, order.id)] == [1, 2]


def test_saving_an_order_loaded_in_another_unit_of_work_appends_only_its_new_entries(
    uow_factory: UnitOfWorkFactory,
) -> None:
    order = an_order()
    (order_id,) = stored(uow_factory, order)
    order.new_entries.clear()  # as the service does after publishing
    dispatched(order, at(1))

    with uow_factory() as uow:
        uow.orders.save(order, POLICY)
        uow.commit()

    assert [e.kind for e in reload_timeline(uow_factory, order_id)] == ["received", "dispatched"]


def test_timeline_ids_follow_the_order_in_which_entries_were_stored_across_orders(
    uow_factory: UnitOfWorkFactory, engine: Engine
) -> None:
    first, second = an_order(), an_order()
    stored(uow_factory, first)
    stored(uow_factory, second)
    with uow_factory() as uow:
        assert first.id is not None
        loaded = uow.orders.get(first.id)
        dispatched(loaded, at(1))
        uow.orders.save(loaded, POLICY)
        uow.commit()

    assert [(order_id, seq) for _, order_id, seq, _ in timeline_rows(engine)] == [
        (first.id, 1),
        (second.id, 1),
        (first.id, 2),
    ]


# --- optimistic concurrency ----------------------------------------------------------------------


def test_the_second_of_two_saves_of_the_same_version_gets_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    (order_id,) = stored(uow_factory, an_order())
    mine, theirs = reload(uow_factory, order_id), reload(uow_factory, order_id)
    dispatched(mine, at(1), MANAGER)
    dispatched(theirs, at(1), CLERK)

    with uow_factory() as uow:
        uow.orders.save(mine, POLICY)
        uow.commit()
    with uow_factory() as uow, pytest.raises(Conflict, match="已被他人修改"):
        uow.orders.save(theirs, POLICY)

    again = reload(uow_factory, order_id)
    assert again.assignee == MANAGER.id and again.version == 2
    assert [e.kind for e in reload_timeline(uow_factory, order_id)] == ["received", "dispatched"]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_open_postgresql_transactions_saving_one_order_let_only_the_first_win(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (order_id,) = stored(uow_factory, an_order())
    with uow_factory() as first, uow_factory() as second:
        mine, theirs = first.orders.get(order_id), second.orders.get(order_id)
        first.orders.save(dispatched(mine, at(1), MANAGER), POLICY)
        first.commit()
        with pytest.raises(Conflict):
            second.orders.save(dispatched(theirs, at(1), CLERK), POLICY)

    assert reload(uow_factory, order_id).assignee == MANAGER.id


def test_each_save_increments_the_version(uow_factory: UnitOfWorkFactory) -> None:
    order = an_order()
    stored(uow_factory, order)
    with uow_factory() as uow:
        uow.orders.save(dispatched(order, at(1)), POLICY)
        order.respond(at(2), MANAGER, POLICY)
        uow.orders.save(order, POLICY)
        uow.commit()

    assert order.id is not None
    assert order.version == 3 == reload(uow_factory, order.id).version


# --- due alerts ----------------------------------------------------------------------------------


def test_claim_due_returns_the_orders_whose_next_alert_has_come_earliest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # Respond deadlines: 51530 warns at 80 % of 5 minutes, the red policy at 80 % of 3 minutes.
    late = an_order(now=at(0))
    early = an_order(now=at(1), colour=Colour.RED, policy=RED_POLICY)
    not_yet = an_order(now=at(30))
    closed = a_closed_order()
    with uow_factory() as uow:
        uow.orders.add(late, POLICY)
        uow.orders.add(early, RED_POLICY)
        uow.orders.add(not_yet, POLICY)
        uow.orders.add(closed, POLICY)
        uow.commit()

    with uow_factory() as uow:
        due = uow.orders.claim_due(at(4), 10)
        assert [o.id for o in due] == [early.id, late.id]
        assert [o.id for o in uow.orders.claim_due(at(4), 1)] == [early.id]
        assert isinstance(due[0], WorkOrder) and due[0].clocks


def test_next_alert_time_is_the_earliest_pending_alert_or_none(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        assert uow.orders.next_alert_time() is None
    order = an_order(now=at(10))
    stored(uow_factory, an_order(now=at(20)), order)

    with uow_factory() as uow:
        first = uow.orders.next_alert_time()

    assert first == order.next_alert_at(POLICY) == at(10) + timedelta(minutes=4)
    assert first is not None and first.tzinfo is UTC


def test_firing_alerts_and_saving_moves_the_order_to_its_next_alert(uow_factory: UnitOfWorkFactory) -> None:
    (order_id,) = stored(uow_factory, an_order(now=at(0)))

    with uow_factory() as uow:
        (order,) = uow.orders.claim_due(at(4), 10)
        order.fire_alerts(at(4), POLICY, lambda rung: None)
        uow.orders.save(order, POLICY)
        uow.commit()

    with uow_factory() as uow:
        assert uow.orders.claim_due(at(4), 10) == []
        assert [o.id for o in uow.orders.claim_due(at(5), 10)] == [order_id]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_postgresql_workers_claiming_at_once_get_disjoint_orders(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ids = set(stored(uow_factory, *[an_order(now=at(i / 10)) for i in range(10)]))
    both_claimed = threading.Barrier(2, timeout=10)
    claims: dict[str, set[int]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with uow_factory() as uow:
                claims[name] = {o.id for o in uow.orders.claim_due(at(60), 6) if o.id is not None}
                # Both transactions hold their locks here; without SKIP LOCKED the second would wait on
                # the first, which waits at this barrier: the barrier times out and the test fails.
                both_claimed.wait()
                uow.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert claims["one"].isdisjoint(claims["two"])
    assert claims["one"] | claims["two"] == ids
    assert sorted(len(c) for c in claims.values()) == [4, 6]


# --- idempotency keys ----------------------------------------------------------------------------


def test_a_remembered_idempotency_key_is_found_with_its_order_and_hash(
    uow_factory: UnitOfWorkFactory,
) -> None:
    order = an_order()
    with uow_factory() as uow:
        assert uow.orders.find_idempotent("client", "key-1") is None
        uow.orders.add(order, POLICY)
        assert order.id is not None
        uow.orders.remember_idempotent("client", "key-1", "hash-1", order.id, at(0))
        uow.commit()

    with uow_factory() as uow:
        record = uow.orders.find_idempotent("client", "key-1")
        assert record is not None
        assert (record.order_id, record.request_hash) == (order.id, "hash-1")
        assert uow.orders.find_idempotent("another client", "key-1") is None


def test_a_reused_idempotency_key_raises_conflict_and_the_transaction_goes_on(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first, second = an_order(), an_order(description="另一份工单")
    stored(uow_factory, first)
    assert first.id is not None
    with uow_factory() as uow:
        uow.orders.remember_idempotent("client", "key-1", "hash-1", first.id, at(0))
        uow.commit()

    with uow_factory() as uow:
        uow.orders.add(second, POLICY)
        assert second.id is not None
        with pytest.raises(Conflict):
            uow.orders.remember_idempotent("client", "key-1", "hash-2", second.id, at(1))
        uow.orders.remember_idempotent("client", "key-2", "hash-2", second.id, at(1))
        uow.commit()

    with uow_factory() as uow:
        assert uow.orders.get(second.id).description == "另一份工单"
        record = uow.orders.find_idempotent("client", "key-1")
        assert record is not None and record.order_id == first.id
        assert uow.orders.find_idempotent("client", "key-2") is not None


def test_a_key_taken_twice_in_one_transaction_raises_conflict_the_second_time(
    uow_factory: UnitOfWorkFactory,
) -> None:
    order = an_order()
    with uow_factory() as uow:
        uow.orders.add(order, POLICY)
        assert order.id is not None
        uow.orders.remember_idempotent("client", "key-1", "hash-1", order.id, at(0))
        with pytest.raises(Conflict):
            uow.orders.remember_idempotent("client", "key-1", "hash-1", order.id, at(0))
        uow.commit()

    assert reload(uow_factory, order.id).description == order.description


# --- search essentials ---------------------------------------------------------------------------


def test_search_counts_all_matches_but_returns_one_page_newest_first(uow_factory: UnitOfWorkFactory) -> None:
    ids = stored(uow_factory, *[an_order(now=at(i)) for i in range(5)])

    with uow_factory() as uow:
        page = uow.orders.search(OrderQuery(limit=2, offset=1))

    assert page.total == 5
    assert [o.id for o in page.items] == [ids[3], ids[2]]


def test_search_by_several_categories_pages_over_all_of_them(uow_factory: UnitOfWorkFactory) -> None:
    orders = [
        an_order(now=at(i), category=code) for i, code in enumerate(["100101", "100118", "200101", "100118"])
    ]
    ids = stored(uow_factory, *orders)

    with uow_factory() as uow:
        page = uow.orders.search(OrderQuery(categories=["100118", "200101"], limit=2, offset=1))

    assert page.total == 3
    assert [o.id for o in page.items] == [ids[2], ids[1]]


# --- the live feed -------------------------------------------------------------------------------


def test_events_since_returns_later_entries_oldest_first_as_events_of_their_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    here, there = dispatched(an_order()), an_order(street=OTHER_STREET, colour=Colour.RED)
    stored(uow_factory, here, there)

    with uow_factory() as uow:
        everything = uow.orders.events_since(0, None, 100)
        after_first = uow.orders.events_since(everything[0][0], None, 100)
        only_there = uow.orders.events_since(0, frozenset({OTHER_STREET}), 100)
        first_two = uow.orders.events_since(0, None, 2)
        last = uow.orders.last_event_id()

    assert [(e.order_id, e.entry.kind) for _, e in everything] == [
        (here.id, "received"),
        (here.id, "dispatched"),
        (there.id, "received"),
    ]
    ids = [event_id for event_id, _ in everything]
    assert ids == sorted(ids) and last == ids[-1]
    assert [i for i, _ in after_first] == ids[1:]
    assert first_two == everything[:2]
    (event_id, event) = only_there[0]
    assert len(only_there) == 1 and event_id == ids[2]
    assert (event.street, event.colour, event.category, event.state) == (
        OTHER_STREET,
        "red",
        "100101",
        "received",
    )
    assert event.entry == there.new_entries[0]
    assert everything[1][1].assignee == MANAGER.id and everything[1][1].area == "a1"


def test_events_of_kinds_passes_over_the_other_entries_of_the_next_batch(
    uow_factory: UnitOfWorkFactory,
) -> None:
    here, there = dispatched(an_order()), an_order(street=OTHER_STREET, colour=Colour.RED)
    stored(uow_factory, here, there)

    with uow_factory() as uow:
        everything = uow.orders.events_since(0, None, 100)
        ids = [event_id for event_id, _ in everything]
        all_dispatched = uow.orders.events_of_kinds(0, frozenset({"dispatched"}), 100)
        first_two = uow.orders.events_of_kinds(0, frozenset({"received"}), 2)
        rest = uow.orders.events_of_kinds(ids[1], frozenset({"received", "dispatched"}), 100)
        none_of_them = uow.orders.events_of_kinds(0, frozenset({"closed"}), 100)
        nothing_after = uow.orders.events_of_kinds(ids[-1], frozenset({"received"}), 100)

    assert all_dispatched == (ids[-1], 3, [everything[1]])
    assert first_two == (ids[1], 2, [everything[0]])  # the batch's second entry is not a "received"
    assert rest == (ids[2], 1, [everything[2]])
    assert none_of_them == (ids[-1], 3, [])
    assert nothing_after == (ids[-1], 0, [])


def test_the_last_event_id_of_an_empty_timeline_is_zero(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        assert uow.orders.last_event_id() == 0
        assert uow.orders.events_since(0, None, 10) == []


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_postgresql_a_second_writer_cannot_append_to_the_timeline_before_the_first_commits(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # Otherwise its later ids could become visible first and a live feed would skip the earlier ones.
    # A read of the timeline writes the entries collected so far, and from then the lock is held.
    with uow_factory() as first:
        first.orders.add(an_order(), POLICY)
        assert first.orders.last_event_id() > 0  # written, not yet committed
        with uow_factory() as second:
            second.connection.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
            second.orders.add(an_order(), POLICY)
            with pytest.raises(Conflict):
                second.commit()  # its entries, sent with its commit, wait for the first's lock
        first.commit()
    with uow_factory() as third:
        third.orders.add(an_order(), POLICY)
        third.commit()
    with uow_factory() as reader:
        stored = reader.orders.events_since(0, None, 100)
    assert len(stored) == 2  # the first's entry and the third's; nothing of the second
    assert [event_id for event_id, _ in stored] == sorted(event_id for event_id, _ in stored)


def test_duplicate_candidates_are_the_stored_orders_as_the_check_reads_them(
    uow_factory: UnitOfWorkFactory,
) -> None:
    here = Point(121.4737, 31.2304)
    near = an_order(now=at(1), point=here, address="南京西路 1 号")
    same_address = an_order(now=at(2), point=Point(121.4837, 31.2304), address="南京西路 1 号")
    far = an_order(now=at(3), point=Point(121.4837, 31.2304), address="南京西路 9 号")
    other_kind = an_order(now=at(4), point=here, category="100102")
    closed = an_order(now=at(5), point=here)
    closed.state = OrderState.CLOSED
    stored(uow_factory, near, same_address, far, other_kind, closed)
    with uow_factory() as uow:
        found = uow.orders.open_similar(STREET, "100101", at(0), here, 50.0, None, "南京西路 1 号")
    # Newest first; the values (timezone included) as a whole order read back gives them.
    assert found == [Candidate.of(reload(uow_factory, o.id or 0)) for o in (same_address, near)]
    assert all(c.received_at.tzinfo is not None for c in found)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_postgresql_the_duplicate_candidates_query_keeps_a_generic_plan(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Every new order runs it: PostgreSQL must keep a generic plan of the prepared statement rather
    than plan it anew for each execution (it did while the LIMIT was a bound parameter)."""
    here = Point(121.4737, 31.2304)
    stored(uow_factory, an_order(now=at(1), point=here, address="南京西路 1 号"))
    with uow_factory() as uow:
        for _ in range(12):  # psycopg prepares at the 5th; PostgreSQL weighs a generic plan after 5 more
            found = uow.orders.open_similar(STREET, "100101", at(0), here, 50.0, "B1", "南京西路 1 号")
            assert len(found) == 1
        plans = uow.connection.exec_driver_sql(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE '%%orders.building = $%%'"
        ).all()
    assert len(plans) == 1
    generic, custom = plans[0]
    assert generic >= 1 and custom <= 5


def test_sqlite_decides_duplicate_candidates_and_earlier_reports_in_the_place_index(
    sqlite_template: Path,
) -> None:
    """Intake runs both for every order: without statistics SQLite must pick the index that holds the
    place and the state (a narrower one reads every order of the category in the window, row by row)."""
    engine = make_engine(f"sqlite:///{sqlite_template}")
    try:
        with engine.connect() as connection:
            for statement in [
                *(
                    _similar_statement("sqlite", *clues, 50)
                    for clues in [(True, True, True), (False, False, True)]
                ),
                _reports_statement(True, True, False),
            ]:
                compiled = statement.compile(dialect=engine.dialect)
                plan = connection.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {compiled}", tuple(None for _ in compiled.positiontup or ())
                ).all()
                first = next(row[-1] for row in plan)
                assert first.startswith("SEARCH orders USING ") and " INDEX ix_orders_place (" in first
    finally:
        engine.dispose()
