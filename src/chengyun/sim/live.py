"""`chengyun demo`'s life: the simulator run live against the running server, on its simulated clock.

The same demand and the same simulated people as `chengyun simulate`, paced by the clock instead of
jumping: reports arrive as the clock reaches them, staff respond, walk, handle and close, the desk calls
back. The server's own workers fire the deadlines and watch the sensors (the sensor reporter feeds them).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from chengyun.bootstrap import Center
from chengyun.sim.demand import USUAL_PER_DAY, day_script
from chengyun.sim.engine import LivePacer, Simulation

log = logging.getLogger(__name__)


def load_for_rate(orders_per_hour: float) -> float:
    """The demand multiplier that gives `orders_per_hour` on average over a day."""
    return orders_per_hour / (sum(USUAL_PER_DAY.values()) / 24)


class LiveSimulation:
    """Runs in a thread; `orders_per_hour` is in simulated time, on average over the day."""

    def __init__(self, center: Center, street: str, orders_per_hour: float, seed: int, days: int) -> None:
        self._stop = threading.Event()
        start = center.clock.now()
        load = load_for_rate(orders_per_hour)
        self.simulation = Simulation(
            center,
            street,
            seed,
            start,
            start + timedelta(days=days),
            [],
            LivePacer(center.clock, self._stop),
            more=lambda since, until: day_script(seed, since, (until - since) / timedelta(hours=1), load)[0],
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.simulation.prepare()
        self._thread = threading.Thread(target=self._run, name="demo-simulation", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.simulation.run()
        except Exception:
            log.exception("the demo's simulation stopped")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.simulation.close()
