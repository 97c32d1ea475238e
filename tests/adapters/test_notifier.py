"""The notifier's loop: how a round reads the timeline, and how long it pauses after one."""

from __future__ import annotations

from chengyun.adapters.notifier import NotifyWorker


class Pump:
    """A timeline reader with `pending` entries left, read `batch` at a time."""

    def __init__(self, pending: int, batch: int) -> None:
        self.pending = pending
        self.batch = batch
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        read = min(self.pending, self.batch)
        self.pending -= read
        return read


def test_a_round_reads_every_pump_to_the_end_and_counts_the_entries() -> None:
    first, second = Pump(1_050, 500), Pump(7, 500)
    sent = iter([3, 0])
    worker = NotifyWorker([first, second], lambda: next(sent), batch=500)
    assert worker.run_once() == 1_057
    assert (first.pending, first.calls, second.pending, second.calls) == (0, 3, 0, 1)


def test_after_a_rush_the_pause_is_longer_and_after_a_lone_event_it_is_short() -> None:
    pump = Pump(0, 500)
    worker = NotifyWorker([pump], lambda: 0, gap_s=0.1, busy=50, busy_gap_s=0.5)
    assert worker.gap() == 0.1  # before any round
    pump.pending = 120
    worker._round()
    assert worker.gap() == 0.5
    pump.pending = 2
    worker._round()
    assert worker.gap() == 0.1
