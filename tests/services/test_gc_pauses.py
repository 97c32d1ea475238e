"""A garbage collection that holds the process past the threshold is logged with its generation and
length; shorter ones are not; uninstalling stops it."""

from __future__ import annotations

import gc
import logging
import weakref
from pathlib import Path

import pytest

from chengyun.bootstrap import build
from chengyun.services.memory import GcPauses
from chengyun.settings import Settings


def test_a_long_collection_is_logged_and_a_short_one_is_not(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("chengyun.gc.test")
    slow, quiet = GcPauses(log, threshold_s=0.0), GcPauses(log, threshold_s=3600.0)
    slow.install()
    quiet.install()
    slow.install()  # twice: still one observer
    try:
        with caplog.at_level(logging.WARNING, logger="chengyun.gc.test"):
            gc.collect(2)
    finally:
        slow.uninstall()
        quiet.uninstall()
    (record,) = [r for r in caplog.records if r.name == "chengyun.gc.test"]
    assert record.getMessage().startswith("garbage collection of generation 2 held the process for ")
    assert slow.slow == 1 and slow.longest > 0
    assert quiet.slow == 0 and quiet.longest > 0

    caplog.clear()
    gc.collect(2)
    assert not [r for r in caplog.records if r.name == "chengyun.gc.test"]


def test_young_collections_are_not_timed() -> None:
    """Young collections walk a few thousand objects at most; only full ones can hold the process long."""
    pauses = GcPauses(logging.getLogger("chengyun.gc.test"), threshold_s=0.0)
    pauses.install()
    try:
        gc.collect(0)
        gc.collect(1)
        assert pauses.slow == 0 and pauses.longest == 0
        gc.collect(2)
        assert pauses.slow == 1 and pauses.longest > 0
    finally:
        pauses.uninstall()


def test_a_slow_full_collection_that_frees_nothing_freezes_what_is_alive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gc.unfreeze()  # whatever an earlier test froze (MQTT ingestion freezes its registry) …
    gc.collect()  # … and what is garbage now go first: the next full collection finds (next to) nothing
    pauses = GcPauses(logging.getLogger("chengyun.gc.test"), threshold_s=0.0, freeze=True, freeze_s=0.0)
    pauses.install()
    try:
        with caplog.at_level(logging.WARNING, logger="chengyun.gc.test"):
            gc.collect(2)
        assert pauses.frozen == 1
        assert gc.get_freeze_count() > 0
    finally:
        pauses.uninstall()
        gc.unfreeze()  # the rest of the test run collects as usual


def test_a_fruitless_full_collection_too_short_to_log_still_freezes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tens of milliseconds walking long-lived data for nothing, every few seconds, is worth a freeze
    even if no single collection is long enough to be logged."""
    gc.unfreeze()
    gc.collect()
    pauses = GcPauses(logging.getLogger("chengyun.gc.test"), threshold_s=3600.0, freeze=True, freeze_s=0.0)
    lazy = GcPauses(logging.getLogger("chengyun.gc.test"), threshold_s=0.0, freeze=True, freeze_s=3600.0)
    pauses.install()
    try:
        with caplog.at_level(logging.WARNING, logger="chengyun.gc.test"):
            gc.collect(2)
        assert (pauses.slow, pauses.frozen) == (0, 1)
        assert gc.get_freeze_count() > 0
        assert not [r for r in caplog.records if r.name == "chengyun.gc.test"]
        pauses.uninstall()
        gc.unfreeze()
        lazy.install()
        gc.collect(2)
        assert (lazy.slow, lazy.frozen) == (1, 0)  # logged, but shorter than its freeze_s
    finally:
        pauses.uninstall()
        lazy.uninstall()
        gc.unfreeze()


def test_a_collection_that_frees_plenty_freezes_nothing() -> None:
    gc.collect()
    pauses = GcPauses(logging.getLogger("chengyun.gc.test"), threshold_s=0.0, freeze=True, freeze_s=0.0)
    pauses.install()
    gc.disable()  # no automatic collection frees the cycles before the full one below
    try:
        for _ in range(GcPauses.FRUITLESS * 2):
            cycle: list[object] = []
            cycle.append(cycle)  # garbage only the cycle collector frees
        del cycle
        gc.collect(2)
    finally:
        gc.enable()
        pauses.uninstall()
    assert pauses.frozen == 0 and pauses.slow == 1


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_frozen_objects_go_back_to_the_collector_after_the_thaw_interval() -> None:
    """A cycle frozen while alive and dropped later is freed once the thaw interval has passed."""
    gc.unfreeze()
    gc.collect()
    now = [0.0]
    pauses = GcPauses(
        logging.getLogger("chengyun.gc.test"),
        threshold_s=0.0,
        freeze=True,
        freeze_s=0.0,
        thaw_after_s=60,
        clock=lambda: now[0],
    )
    node = _Node()
    gone = weakref.ref(node)
    pauses.install()
    try:
        gc.collect(2)  # fruitless and "slow": freezes `node` with the rest
        assert pauses.frozen == 1
        del node
        gc.collect(2)
        assert gone() is not None  # frozen: out of the collector's sight
        assert pauses.thawed == 0
        now[0] = 61.0
        gc.collect(0)  # the interval has passed, but a young collection is passed over …
        assert pauses.thawed == 0
        gc.collect(1)
        assert pauses.thawed == 0
        gc.collect(2)  # … the next full one's end thaws
        assert pauses.thawed == 1 and gc.get_freeze_count() == 0
        pauses.uninstall()
        gc.collect(2)
        assert gone() is None
    finally:
        pauses.uninstall()
        gc.unfreeze()


def test_every_running_center_watches_its_collections_and_stops_when_it_stops(tmp_path: Path) -> None:
    """API processes, the supervisor of `serve --workers N` and `chengyun worker` all run a started
    center: each of them logs its long collections (and freezes), not only the API processes."""
    center = build(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", run_worker=False))
    observer = center.gc_pauses._observe
    assert observer not in gc.callbacks
    center.start()
    try:
        assert observer in gc.callbacks
    finally:
        center.stop()
    assert observer not in gc.callbacks
