"""The background loops: the sensor worker's schedule, and a loop that survives a failing round."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.worker import DeadlineWorker, LoopThread, SensorWorker


def test_the_sensor_worker_sweeps_every_round_and_rolls_up_purges_and_files_missed_orders_less_often() -> (
    None
):
    calls = {"sweep": 0, "roll_up": 0, "purge": 0, "file_orders": 0}
    backlog = [500, 500, 3]  # two full batches of due checks, then the rest

    def sweep() -> int:
        calls["sweep"] += 1
        return backlog.pop(0) if backlog else 0

    def count(name: str) -> int:
        calls[name] += 1
        return 0

    worker = SensorWorker(
        sweep,
        lambda: count("roll_up"),
        lambda: count("purge"),
        batch=500,
        every_s=1.0,
        roll_up_every_s=3.0,
        purge_every_s=6.0,
        file_orders=lambda: count("file_orders"),
        file_orders_every_s=2.0,
    )
    for _ in range(7):
        worker.run_once()
    # rounds 0..6: roll-ups at 0, 3, 6; the orders a failure left unfiled at 0, 2, 4, 6
    assert calls == {"sweep": 3 + 6, "roll_up": 3, "purge": 2, "file_orders": 4}


def test_a_loop_thread_survives_a_failing_round_and_stops() -> None:
    rounds: list[int] = []
    two = threading.Event()

    class Flaky(LoopThread):
        name = "flaky"

        def _round(self) -> float:
            rounds.append(len(rounds))
            if len(rounds) == 1:
                raise RuntimeError("the first round fails")
            two.set()
            return 0.01

    loop = Flaky()
    loop.start()
    assert two.wait(5)  # the failed round is logged and retried a second later
    loop.stop()
    assert len(rounds) >= 2


def test_the_deadline_worker_has_the_dispatcher_look_each_minute_of_the_centers_clock() -> None:
    clock = ManualClock(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    looks: list[datetime] = []
    second = threading.Event()

    def relieve() -> int:
        looks.append(clock.now())
        if len(looks) == 2:
            second.set()
        return 1

    worker = DeadlineWorker(lambda: 0, lambda: None, clock, max_sleep_s=0.01, relieve=relieve)
    worker.start()
    try:
        pause = threading.Event()
        for _ in range(500):  # many rounds on the same minute of the clock: one look
            if worker.rounds >= 20:
                break
            pause.wait(0.01)
        assert worker.rounds >= 20 and len(looks) == 1
        clock.advance(minutes=1)
        assert second.wait(5)
    finally:
        worker.stop()
    assert looks == [datetime(2026, 12, 7, 2, 0, tzinfo=UTC), datetime(2026, 12, 7, 2, 1, tzinfo=UTC)]
    assert worker.relieved == 2
