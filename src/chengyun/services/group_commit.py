"""Group commit: many threads' small write transactions stored together in one transaction.

Each caller hands over its work (a function of a unit of work) and waits. Whichever caller gets the
writer's turn first takes every piece of work pending at that moment, runs each in a savepoint of one
transaction, commits once and answers them all; the others find their answer ready when they get the
turn. No extra thread: the callers take turns leading.

- One caller's failure is its own: its savepoint is rolled back and its exception raised in its thread;
  the rest of the batch is stored.
- A caller returns only after the commit that stored its work: an acknowledged write survives a restart.
  If the commit itself fails, every caller of the batch gets that error and nothing of the batch is kept.
- Work runs in the order it arrived, so later work in a batch sees what earlier work wrote (an
  Idempotency-Key used twice in one batch stores one order; the second finds the key taken).

What it saves per write: the connection checkout, BEGIN and COMMIT (on PostgreSQL a round trip and a WAL
flush each), and on SQLite the hand-over of the one write lock from thread to thread.

A caller that must not block (an async route on the event loop) hands its work over with `submit`
instead: a writer thread of a small shared pool prepares it, stores it with the rest of the batch and
calls the caller back; no thread waits per piece of work.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from chengyun.services.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BATCH = 64  # pieces of work per transaction: bounds the leader's turn and its callers' wait

Prepare = Callable[[], Callable[[UnitOfWork], T]]  # runs before the transaction; returns the work
Done = Callable[[Any, BaseException | None], None]  # (result, error), called once the batch is settled

# Writer threads for submitted work, shared by every GroupCommit of the process: each still stores at
# most `writers` batches at once; a pool thread leads a batch, answers its submitters and then leads
# the next batch of submitted work if the lead fell to it (a waiting caller leads its own).
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="group-commit")


@dataclass
class _Pending(Generic[T]):
    work: Callable[[UnitOfWork], T] | None
    # Submitted work (`submit`): prepared in the writer's thread, its caller told through `done`.
    prepare: Prepare[T] | None = None
    done: Done | None = None
    # Set when the work is finished, or when its caller is to lead (store the next batch).
    wake: threading.Event = field(default_factory=threading.Event)
    finished: bool = False
    promoted: bool = False
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """`writers` batches may be stored at once: 1 for SQLite (one writer at a time anyway); more for
    PostgreSQL, where a batch mostly waits on round trips that another batch can overlap.

    A caller that finds a writer free leads: it stores the pending work, then hands the lead to the
    first caller still waiting (or gives it up when none is). The others wait on their own work only,
    so a finished caller returns at once instead of queueing behind the next batch."""

    def __init__(self, uow: UnitOfWorkFactory, max_batch: int = MAX_BATCH, writers: int = 1) -> None:
        self._uow = uow
        self._max_batch = max_batch
        self._writers = writers
        self._queue: list[_Pending[Any]] = []
        self._lock = threading.Lock()  # guards the queue, the leaders count and the flags
        self._leaders = 0
        self.batches = 0  # transactions committed (for tests and benchmarks)
        self.stored = 0  # pieces of work stored in them

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Keep every writer busy for the block: work handed over meanwhile waits, and is then stored
        together, as it would be behind long batches (tests use it to make a batch of known content)."""
        with self._lock:
            taken = self._writers - self._leaders
            self._leaders = self._writers
        try:
            yield
        finally:
            for _ in range(taken):
                self._hand_over()

    def waiting(self) -> int:
        """How many pieces of work wait for a turn (not counting batches being stored)."""
        with self._lock:
            return len(self._queue)

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work(uow)` in a transaction shared with other callers' work; return its result once
        that transaction has committed, or raise what `work` (or the commit) raised."""
        item: _Pending[T] = _Pending(work)
        with self._lock:
            self._queue.append(item)
            lead = self._leaders < self._writers
            if lead:
                self._leaders += 1
        while True:
            if not lead:
                item.wake.wait()
                with self._lock:
                    item.wake.clear()
                    lead, item.promoted = item.promoted, False
                    finished = item.finished
                if not lead:
                    if finished:
                        break
                    continue
                # The lead was handed to us: take it even if another writer has stored our work
                # meanwhile, and hand it on, or no one would lead again.
            batch = self._take()
            if batch:
                self._store(batch)
            self._hand_over()
            _answer(batch)
            if item.finished:
                break
            lead = False
        if item.error is not None:
            raise item.error
        result: T = item.result
        return result

    def submit(self, prepare: Prepare[T], done: Done) -> None:
        """Hand work over without waiting for it. In a writer thread, `prepare()` runs before the
        batch's transaction (none is open then: it may read the database through its own unit of work)
        and returns the work, which is stored as `run` stores it; then `done(result, error)` is called
        in that thread, once the batch has committed or failed (`error` is what `prepare`, the work or
        the commit raised). `done` must not raise."""
        item: _Pending[T] = _Pending(None, prepare=prepare, done=done)
        with self._lock:
            self._queue.append(item)
            lead = self._leaders < self._writers
            if lead:
                self._leaders += 1
        if lead:
            _POOL.submit(self._lead)

    def _lead(self) -> None:
        """A pool thread's turn as a leader: a batch, then its callers are told; if the lead went to
        submitted work meanwhile, this thread leads that batch too (no hand-off to another thread)."""
        again = True
        while again:
            try:
                batch = self._take()
                if batch:
                    self._store(batch)
            finally:
                again = self._hand_over(pooled=True)
            _answer(batch)

    def _take(self) -> list[_Pending[Any]]:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        return batch

    def _hand_over(self, pooled: bool = False) -> bool:
        """A leader is done: the first caller waiting (and not already called) leads next; submitted
        work, whose caller cannot lead, is led by a pool thread: the one handing over when it is one
        (`pooled`: True is returned, it leads again once it has answered its batch), otherwise a new
        turn of the pool (a hand-off to another thread costs more than the answers it would overlap)."""
        with self._lock:
            for waiting in self._queue:
                if not waiting.promoted:
                    waiting.promoted = True
                    if waiting.done is None:
                        waiting.wake.set()
                        return False
                    break
            else:
                self._leaders -= 1
                return False
        if pooled:
            return True
        _POOL.submit(self._lead)
        return False

    def _store(self, batch: list[_Pending[Any]]) -> None:
        ready: list[_Pending[Any]] = []
        for item in batch:
            if item.prepare is not None:
                try:
                    item.work = item.prepare()
                except Exception as exc:  # refused before storing: this caller's error alone
                    item.error = exc
                    continue
            ready.append(item)
        try:
            if ready:
                self._transaction(ready)
        except BaseException as exc:  # nothing of the batch is stored: each caller learns why
            for item in ready:
                if item.error is None:
                    item.error = exc
                    item.result = None
            if not isinstance(exc, Exception):
                self._finish(batch)
                raise
        self._finish(batch)

    def _transaction(self, ready: list[_Pending[Any]]) -> None:
        with self._uow() as uow:
            if len(ready) == 1:  # alone: the transaction itself is its savepoint
                ready[0].result = _work(ready[0])(uow)
            else:
                for item in ready:
                    try:
                        with uow.savepoint():
                            item.result = _work(item)(uow)
                    except Exception as exc:  # this caller's failure; the others go on
                        item.error = exc
            uow.commit()
        with self._lock:
            self.batches += 1
            self.stored += sum(1 for item in ready if item.error is None)

    def _finish(self, batch: list[_Pending[Any]]) -> None:
        with self._lock:
            for item in batch:
                item.finished = True
                if item.done is None:
                    item.wake.set()


def _work(item: _Pending[T]) -> Callable[[UnitOfWork], T]:
    assert item.work is not None
    return item.work


def _answer(batch: list[_Pending[Any]]) -> None:
    """Tell the submitters of a settled batch (after the lead has gone on: the next batch need not wait)."""
    for item in batch:
        if item.done is not None:
            try:
                item.done(item.result, item.error)
            except Exception:
                log.exception("a group commit's caller could not be answered")
