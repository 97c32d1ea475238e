"""A garbage collection that holds the process past the threshold is logged with its generation and
length; shorter ones are not; uninstalling stops it."""

from __future__ import annotations

import gc
import logging

import pytest

from chengyun.services.memory import GcPauses


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
