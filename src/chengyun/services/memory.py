"""Memory helpers shared by the services."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large batch of short-lived objects is built and used
    (a period's order records, a batch of sensor readings): they all live until the work is done, so
    each collection the allocations would trigger walks them all again for nothing. Safe from several
    threads at once: whoever paused it resumes it, and it is never left paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class GcPauses:
    """Logs every full garbage collection (generation 2) that holds the interpreter for `threshold_s` or
    more (a pause every thread of the process waits out: requests, feeds, ingestion) and keeps the
    longest seen. Young collections are passed over at once (no clock read): they walk at most a few
    thousand objects, well under a millisecond.

    With `freeze`, a full collection of `freeze_s` or more that freed next to nothing (under FRUITLESS
    objects) is taken as the sign that the process's long-lived data (a sensor registry, live states,
    caches and dictionaries loaded on first use) has grown: everything alive then is frozen (gc.freeze,
    as the collection ends), so later collections no longer walk it. `freeze_s` is below the logging
    threshold: pypinyin's dictionaries, loaded with a street's address index on the first order, are
    ~200,000 lists that made every full collection of a busy API process an unlogged 70–80 ms stall,
    every few seconds.

    Frozen objects are still freed when their last reference goes, but a reference cycle among them
    that becomes garbage later is out of the collector's sight (a cache entry replaced, say): so
    `thaw_after_s` after a freeze the end of the next full collection hands the frozen objects back
    (gc.unfreeze), the one after it walks everything and frees such cycles, and a fruitless one freezes
    again. The memory those cycles can hold is bounded by what that interval leaves."""

    FRUITLESS = 1_000

    def __init__(
        self,
        log: logging.Logger,
        threshold_s: float = 0.1,
        freeze: bool = False,
        freeze_s: float = 0.02,
        thaw_after_s: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._threshold = threshold_s
        self._freeze = freeze
        self._freeze_s = freeze_s
        self._thaw_after = thaw_after_s
        self._clock = clock
        self._started = self._cpu_started = 0.0
        self._frozen_at: float | None = None
        self.longest = 0.0
        self.slow = 0
        self.frozen = 0  # how many times the live objects were frozen
        self.thawed = 0  # … and handed back to the collector

    def install(self) -> None:
        if self._observe not in gc.callbacks:
            gc.callbacks.append(self._observe)

    def uninstall(self) -> None:
        if self._observe in gc.callbacks:
            gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
            self._cpu_started = time.thread_time()
            return
        took = time.perf_counter() - self._started
        self.longest = max(self.longest, took)
        # The collection is over when its "stop" callbacks run: nothing walks the generations again
        # until the next one (no thread is started here: this may run at interpreter exit).
        thawing = self._frozen_at is not None and self._clock() - self._frozen_at >= self._thaw_after
        if thawing:  # this collection did not walk the frozen objects: the next one will
            gc.unfreeze()
            self._frozen_at = None
            self.thawed += 1
        if took >= self._threshold:
            self.slow += 1
            # Its CPU beside its wall time: a collection that was itself quick but was kept off the CPU
            # (a machine with more work than cores) holds the process all the same, for another cause.
            self._log.warning(
                "garbage collection of generation %d held the process for %.0f ms (%.0f ms of CPU; "
                "%d objects freed)",
                info["generation"],
                took * 1000,
                (time.thread_time() - self._cpu_started) * 1000,
                info.get("collected", 0),
            )
        fruitless = info.get("collected", 0) < self.FRUITLESS
        if self._freeze and took >= self._freeze_s and fruitless and not thawing:
            self.frozen += 1
            if self._frozen_at is None:
                self._frozen_at = self._clock()
            gc.freeze()
