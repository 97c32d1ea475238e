"""The demo street's sensors reporting on the simulated clock, through the real ingestion path.

With a broker configured (`CHENGYUN_MQTT_URL`) the reports are published over MQTT, QoS 1, on the
contract topics, and the center's MQTT worker takes them in; without one they go straight to the same
ingestion call the worker makes (decode, validate, rules, store, alarms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chengyun.adapters.worker import LoopThread
from chengyun.bootstrap import Center
from chengyun.sim.sensors import SensorFeed

Send = Callable[[Sequence[tuple[str, bytes]]], object]


class SensorReporter(LoopThread):
    """Every `step_s` real seconds, sends what the feed has due by the center's clock."""

    name = "sensor-reporter"

    def __init__(
        self, center: Center, feed: SensorFeed, send: Send | None = None, step_s: float = 1.0
    ) -> None:
        self._center = center
        self._feed = feed
        self._send = send or center.ingest.ingest_messages
        self._step_s = step_s
        self.sent = 0
        super().__init__()

    def run_once(self) -> int:
        messages = self._feed.due(self._center.clock.now())
        for start in range(0, len(messages), 2000):
            self._send(messages[start : start + 2000])
        self.sent += len(messages)
        return len(messages)

    def _round(self) -> float:
        self.run_once()
        return self._step_s
