"""Since when this process has been hearing the sensors without a break: the offline rule counts only
silence that could have been heard (domain/rules.py `OfflineState.tick`).

A process hears nothing before it starts; with MQTT, nothing while its connection to the broker is
down, and after a reconnection only what the broker and the devices still had queued. Without this,
a broker restart or a stopped center would be reported as every sensor going offline at once; with
it, each sensor gets its full allowance again from the moment the stream is back, and only those
that stay silent are reported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chengyun.services.ports import Clock


class Stream(Protocol):
    """What is asked of the MQTT ingestor (adapters/mqtt.py `MqttIngestor`)."""

    connected: bool
    connections: int  # grows with every (re)established subscription


class Listening:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._stream: Stream | None = None
        self._since = clock.now()
        self._connections = 0

    def follow(self, stream: Stream) -> None:
        """The sensors are heard through `stream` (the MQTT ingestion) from now on."""
        self._stream = stream

    def since(self) -> datetime | None:
        """Since when the sensors have been audible; None while they cannot be heard at all. Asked
        often (every sweep): a reconnection is noticed at the first call after it."""
        stream = self._stream
        if stream is None:
            return self._since
        if not stream.connected:
            return None
        if stream.connections != self._connections:
            self._connections = stream.connections
            self._since = max(self._since, self._clock.now())
        return self._since
