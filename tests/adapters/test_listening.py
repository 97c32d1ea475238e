"""Since when a process has heard its sensors: its start, and with MQTT its latest reconnection."""

from __future__ import annotations

from dataclasses import dataclass

from chengyun.adapters.clock import ManualClock
from chengyun.adapters.listening import Listening
from street import T0


@dataclass
class FakeStream:
    connected: bool = False
    connections: int = 0

    def connect(self) -> None:
        self.connections += 1
        self.connected = True


def test_without_mqtt_the_sensors_are_heard_since_the_process_started() -> None:
    clock = ManualClock(T0)
    listening = Listening(clock)
    clock.advance(hours=1)
    assert listening.since() == T0


def test_with_mqtt_nothing_is_heard_while_disconnected_and_a_reconnection_starts_afresh() -> None:
    clock = ManualClock(T0)
    listening, stream = Listening(clock), FakeStream()
    listening.follow(stream)
    assert listening.since() is None  # not connected yet
    clock.advance(minutes=1)
    stream.connect()
    assert listening.since() == T0.replace(minute=1)
    clock.advance(minutes=5)
    assert listening.since() == T0.replace(minute=1)  # still the same stream
    stream.connected = False
    assert listening.since() is None
    clock.advance(minutes=10)
    stream.connect()
    assert listening.since() == T0.replace(minute=16)


def test_a_reconnection_between_two_questions_is_noticed() -> None:
    clock = ManualClock(T0)
    listening, stream = Listening(clock), FakeStream()
    listening.follow(stream)
    stream.connect()
    assert listening.since() == T0
    clock.advance(minutes=3)
    stream.connect()  # dropped and back before anyone asked
    assert listening.since() == T0.replace(minute=3)
