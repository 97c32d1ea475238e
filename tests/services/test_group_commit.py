"""Group commit: orders that arrive together are stored in one transaction, each answered on its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self

import pytest

from builders import POLICY, a_token, an_order
from chengyun.adapters.clock import ManualClock
from chengyun.adapters.db.uow import SqlUnitOfWork
from chengyun.bootstrap import Center
from chengyun.domain.access import Role
from chengyun.domain.errors import Conflict, InvalidInput, Unavailable
from chengyun.domain.severity import Colour
from chengyun.services.group_commit import GroupCommit
from chengyun.services.orders import KEY_REUSED, Created
from chengyun.services.ports import OrderQuery, UnitOfWork, UnitOfWorkFactory
from street import Recorder, person, tile

HOTLINE = person(Role.HOTLINE_SYSTEM)
DESK = person(Role.HOTLINE_HANDLER, "H1", "孙丽")


def together(
    writer: GroupCommit, calls: list[Callable[[], Any]], meanwhile: Callable[[], None] = lambda: None
) -> list[Any]:
    """Run the calls in threads while the writer's turn is held, so that all of them queue up and are
    then stored as one batch (`meanwhile` runs once all are queued, before they are stored); each
    call's result or exception, in order."""
    outcomes: list[Any] = [None] * len(calls)

    def call(i: int) -> None:
        try:
            outcomes[i] = calls[i]()
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    with writer.held():
        for i, thread in enumerate(threads):
            thread.start()
            # Started one after the other, so the batch keeps the calls' order.
            deadline = time.monotonic() + 30
            while writer.waiting() < i + 1 and outcomes[i] is None:
                assert time.monotonic() < deadline, "a call did not reach the writer"
                time.sleep(0.005)
        meanwhile()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_orders_arriving_together_are_stored_in_one_transaction(center: Center, recorder: Recorder) -> None:
    writer = center.orders.writer
    before = writer.batches
    outcomes = together(writer, [lambda: center.orders.create(HOTLINE, tile()) for _ in range(5)])
    assert writer.batches == before + 1
    ids = []
    for created in outcomes:
        assert isinstance(created, Created) and not created.replayed
        assert created.order.id is not None
        ids.append(created.order.id)
    assert ids == sorted(set(ids))  # five orders, stored in the order they arrived
    assert center.orders.search(DESK, OrderQuery()).total == 5
    kinds = [[e.kind for e in center.orders.timeline(DESK, i)] for i in ids]
    assert kinds[0] == ["received", "first_contact_task", "dispatched"]
    # Each later order is proposed as a duplicate of the ones stored before it in the same transaction.
    for n, order_id in enumerate(ids[1:], start=1):
        assert kinds[n] == ["received", "first_contact_task", "dispatched", "duplicate_suspected"]
        proposal = center.orders.timeline(DESK, order_id)[-1]
        assert {c["order_id"] for c in proposal.data["candidates"]} == set(ids[:n])
    assert sorted(e.order_id for e in recorder.events if e.kind == "received") == ids


def test_the_same_key_twice_in_one_batch_gives_one_order(center: Center) -> None:
    outcomes = together(
        center.orders.writer,
        [lambda: center.orders.create(HOTLINE, tile(), idempotency_key="batch-key") for _ in range(3)],
    )
    assert all(isinstance(o, Created) for o in outcomes)
    assert [o.replayed for o in outcomes] == [False, True, True]
    assert len({o.order.id for o in outcomes}) == 1
    assert center.orders.search(DESK, OrderQuery()).total == 1


def test_a_failing_order_in_a_batch_does_not_lose_the_others(center: Center) -> None:
    first, refused, plain, last = together(
        center.orders.writer,
        [
            lambda: center.orders.create(HOTLINE, tile(), idempotency_key="k1"),
            lambda: center.orders.create(HOTLINE, tile(description="另一件事"), idempotency_key="k1"),
            lambda: center.orders.create(HOTLINE, tile(description="第三件事")),
            lambda: center.orders.create(HOTLINE, tile(), idempotency_key="k2"),
        ],
    )
    assert isinstance(refused, Conflict) and refused.details["code"] == KEY_REUSED
    for created in (first, plain, last):
        assert isinstance(created, Created) and not created.replayed and created.order.id is not None
        timeline = center.orders.timeline(DESK, created.order.id)
        assert [e.kind for e in timeline][:2] == ["received", "first_contact_task"]
    assert center.orders.search(DESK, OrderQuery()).total == 3
    again = center.orders.create(HOTLINE, tile(), idempotency_key="k1")
    assert again.replayed and isinstance(first, Created) and again.order.id == first.order.id


def test_work_that_raises_is_undone_alone(center: Center) -> None:
    def store(text: str, fail: bool) -> Callable[[UnitOfWork], int]:
        def work(uow: UnitOfWork) -> int:
            order = an_order(street="T", description=text, area="A1")
            uow.orders.add(order, POLICY)
            if fail:
                raise RuntimeError(text)
            assert order.id is not None
            return order.id

        return work

    writer = center.orders.writer
    a, b, c = together(
        writer,
        [
            lambda: writer.run(store("一", False)),
            lambda: writer.run(store("二", True)),
            lambda: writer.run(store("三", False)),
        ],
    )
    assert isinstance(b, RuntimeError) and str(b) == "二"
    assert isinstance(a, int) and isinstance(c, int)
    descriptions = {o.description for o in center.orders.search(DESK, OrderQuery()).items}
    assert descriptions == {"一", "三"}


class _FailingCommit:
    """A unit of work whose commit fails, as when the database goes away at that moment."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def savepoint(self) -> AbstractContextManager[None]:
        return self._inner.savepoint()

    def commit(self) -> None:
        raise Unavailable("数据库暂时无法访问")


@pytest.fixture
def failing_commits(center: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    factory: UnitOfWorkFactory = center.uow
    monkeypatch.setattr(center.orders.writer, "_uow", lambda: _FailingCommit(factory()))


def test_no_order_is_acknowledged_when_its_commit_fails(center: Center, failing_commits: None) -> None:
    outcomes = together(
        center.orders.writer,
        [lambda i=i: center.orders.create(HOTLINE, tile(), idempotency_key=f"c{i}") for i in range(3)],
    )
    assert all(isinstance(o, Unavailable) for o in outcomes)
    assert center.orders.search(DESK, OrderQuery()).total == 0


@pytest.mark.parametrize("writers", [1, 3])
def test_every_piece_of_work_is_stored_once_whatever_the_number_of_writers(
    center: Center, writers: int
) -> None:
    writer = GroupCommit(center.uow, writers=writers)

    def store(n: int) -> Callable[[UnitOfWork], int]:
        def work(uow: UnitOfWork) -> int:
            uow.tokens.add(a_token(f"w{n}"), f"hash-{n}")
            return n

        return work

    results: list[int] = []

    def call(n: int) -> None:
        results.append(writer.run(store(n)))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == list(range(24))
    assert writer.stored == 24 and 1 <= writer.batches <= 24
    with center.uow() as uow:
        assert sorted(t.id for t in uow.tokens.list() if t.id.startswith("w")) == sorted(
            f"w{n}" for n in range(24)
        )


@pytest.fixture
def one_unit_of_work_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail at once when a thread opens a unit of work while it holds one: on SQLite the second one
    waits for the first one's write lock until the busy timeout (10 s), then fails with a Conflict."""
    held = threading.local()
    enter, leave = SqlUnitOfWork.__enter__, SqlUnitOfWork.__exit__

    def guarded_enter(self: SqlUnitOfWork) -> SqlUnitOfWork:
        depth = getattr(held, "depth", 0)
        assert depth == 0, "a second unit of work opened inside an open one, in the same thread"
        opened = enter(self)
        held.depth = depth + 1
        return opened

    def guarded_exit(self: SqlUnitOfWork, *exc_info: Any) -> None:
        held.depth = 0
        leave(self, *exc_info)

    monkeypatch.setattr(SqlUnitOfWork, "__enter__", guarded_enter)
    monkeypatch.setattr(SqlUnitOfWork, "__exit__", guarded_exit)


def test_a_repeat_report_that_changes_the_policy_reads_a_stale_duty_snapshot_in_its_own_transaction(
    center: Center, clock: ManualClock, one_unit_of_work_per_thread: None
) -> None:
    # Reported at the orange level: the usual policy. Reported again at the same place, the repeat is
    # graded one colour higher when it is stored (red, another policy), and so rebuilt in the writer's
    # transaction: its deadlines, 先联 and routing, from the duty snapshot. That snapshot goes stale
    # while the order waits for the writer (here it is dropped meanwhile).
    first = center.orders.create(HOTLINE, tile(colour=Colour.ORANGE)).order
    assert (first.colour, first.policy_code) == (Colour.ORANGE, "51530")
    clock.advance(minutes=10)
    (outcome,) = together(
        center.orders.writer,
        [lambda: center.orders.create(HOTLINE, tile(colour=Colour.ORANGE))],
        meanwhile=center.orders.forget_rules,
    )
    assert isinstance(outcome, Created), outcome
    again = outcome.order
    assert (again.colour, again.policy_code) == (Colour.RED, "51530-red")
    assert again.assignee is not None  # dispatched from the snapshot read again
    received = center.orders.timeline(DESK, again.id or 0)[0]
    assert "重复反映：提高 1 级" in received.note


class Answers:
    """What `create_later` answers, collected from the writer's thread."""

    def __init__(self, count: int) -> None:
        self.outcomes: list[Any] = [None] * count
        self.threads: list[str] = [""] * count
        self._left = count
        self._lock = threading.Lock()
        self.all_in = threading.Event()

    def to(self, i: int) -> Callable[[Created | None, BaseException | None], None]:
        def answer(created: Created | None, error: BaseException | None) -> None:
            self.outcomes[i] = created if error is None else error
            self.threads[i] = threading.current_thread().name
            with self._lock:
                self._left -= 1
                if self._left == 0:
                    self.all_in.set()

        return answer

    def wait(self) -> list[Any]:
        assert self.all_in.wait(30), "not every order was answered"
        return self.outcomes


def test_orders_handed_over_without_waiting_join_the_batch_of_waiting_callers(
    center: Center, recorder: Recorder
) -> None:
    writer = center.orders.writer
    before = writer.batches
    answers = Answers(3)
    waited: list[Any] = []
    caller = threading.Thread(target=lambda: waited.append(center.orders.create(HOTLINE, tile())))
    with writer.held():
        center.orders.create_later(HOTLINE, tile(), "later-1", answers.to(0))
        center.orders.create_later(HOTLINE, tile(), None, answers.to(1))
        caller.start()
        deadline = time.monotonic() + 30
        while writer.waiting() < 3:
            assert time.monotonic() < deadline, "the waiting caller did not reach the writer"
            time.sleep(0.005)
        center.orders.create_later(HOTLINE, tile(), "later-1", answers.to(2))  # a retry, same batch
        assert answers.outcomes == [None, None, None]  # nothing is answered before it is stored
    first, second, retry = answers.wait()
    caller.join(30)
    assert writer.batches == before + 1
    assert isinstance(first, Created) and isinstance(second, Created) and isinstance(retry, Created)
    assert not first.replayed and not second.replayed
    assert retry.replayed and retry.order.id == first.order.id
    (created,) = waited
    ids = [first.order.id, second.order.id, created.order.id]
    assert ids == sorted(set(i for i in ids if i is not None))  # stored in the order they arrived
    assert all(name != threading.current_thread().name for name in answers.threads)
    # Answered after the commit, with its events published as the waiting caller's are.
    assert sorted(e.order_id for e in recorder.events if e.kind == "received") == ids
    assert center.orders.search(DESK, OrderQuery()).total == 3


def test_an_order_handed_over_and_refused_is_answered_with_its_error_alone(center: Center) -> None:
    answers = Answers(4)
    with center.orders.writer.held():
        center.orders.create_later(HOTLINE, tile(), "k1", answers.to(0))
        center.orders.create_later(HOTLINE, tile(category="no-such"), None, answers.to(1))
        center.orders.create_later(HOTLINE, tile(description="另一件事"), "k1", answers.to(2))
        center.orders.create_later(HOTLINE, tile(description="第三件事"), None, answers.to(3))
    stored, unknown, reused, plain = answers.wait()
    assert isinstance(unknown, InvalidInput) and unknown.details["code"] == "unknown_category"
    assert isinstance(reused, Conflict) and reused.details["code"] == KEY_REUSED
    assert isinstance(stored, Created) and isinstance(plain, Created)
    assert center.orders.search(DESK, OrderQuery()).total == 2


def test_no_order_handed_over_is_acknowledged_when_its_commit_fails(
    center: Center, failing_commits: None
) -> None:
    answers = Answers(3)
    with center.orders.writer.held():
        for i in range(3):
            center.orders.create_later(HOTLINE, tile(), f"f{i}", answers.to(i))
    assert all(isinstance(o, Unavailable) for o in answers.wait())
    assert center.orders.search(DESK, OrderQuery()).total == 0


@pytest.mark.parametrize("writers", [1, 3])
def test_work_handed_over_and_work_waited_for_are_each_stored_once(center: Center, writers: int) -> None:
    writer = GroupCommit(center.uow, writers=writers)

    def store(name: str) -> Callable[[UnitOfWork], str]:
        def work(uow: UnitOfWork) -> str:
            uow.tokens.add(a_token(name), f"hash-{name}")
            return name

        return work

    results: list[str] = []
    lock = threading.Lock()
    done = threading.Semaphore(0)

    def answered(result: Any, error: BaseException | None) -> None:
        assert error is None
        with lock:
            results.append(result)
        done.release()

    def call(n: int) -> None:
        writer.submit(lambda: store(f"s{n}"), answered)
        result = writer.run(store(f"r{n}"))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for _ in range(16):
        assert done.acquire(timeout=30)
    expected = sorted([f"s{n}" for n in range(16)] + [f"r{n}" for n in range(16)])
    assert sorted(results) == expected
    assert writer.stored == 32
    with center.uow() as uow:
        assert sorted(t.id for t in uow.tokens.list() if t.id[0] in "sr") == expected
