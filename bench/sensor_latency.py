"""14,000 sensors reporting once a second over MQTT: publish-to-alarm latency and the worker's memory, beside
the bare broker's publish-to-receive latency measured the same way in the same run.

A publisher process sends every sensor's reading once a second (QoS 1, spread over the second in 20 ticks),
stamping each with the wall time of its tick. Each second 20 sensors read above their alarm threshold; each
raises a new alarm. The worker in this process is the center's own: `MqttIngestor` feeding
`IngestService.ingest_messages` (decode, registry check, every rule, readings and live state stored, alarms)
on a throwaway SQLite file (or PostgreSQL with --backend postgres). Latency = the time the alarm event is
published on the center's alarm bus minus the reading's timestamp.

Baseline: the same publisher and the same ingestor with a sink that only notes each message's arrival
time (publish-to-receive through Mosquitto).

Broker: by default (`--broker own`) the bench starts a Mosquitto of its own on a free port configured as
a deployment should be: `max_queued_messages 100000`. With Debian's default (1,000), a worker that falls
behind for a fraction of a second has QoS 1 messages discarded by the broker, and the discarded ones keep
counting against its receive window until it reconnects (see adapters/mqtt.py). `--broker URL` uses an
existing broker instead (e.g. the machine's, to see that effect).

Run: .venv/bin/python bench/sensor_latency.py [--seconds 30] [--runs 3] [--backend sqlite|postgres]
                                               [--broker own|mqtt://host:port]
"""

from __future__ import annotations

import argparse
import gc
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path

from _common import med_range, percentile, postgres_base_url, proc_memory_mb, progress, table, temp_database
from chengyun.adapters.clock import WallClock
from chengyun.adapters.mqtt import MqttConfig, MqttIngestor, MqttPublisher
from chengyun.bootstrap import build
from chengyun.domain.alarms import AlarmEvent, AlarmEventKind
from chengyun.domain.geo import Point
from chengyun.domain.rules import OfflineRule, ThresholdRule
from chengyun.domain.sensors import Sensor, SensorKind
from chengyun.domain.severity import Colour
from chengyun.settings import Settings

SENSORS = 14_000
TICKS = 20  # per second
SPIKES = 20  # sensors above threshold per second
STREET = "lat"


def sensor_id(i: int) -> str:
    return f"L-{i:05d}"


def sensors() -> list[Sensor]:
    # Yellow alarms: they file no order, so the figure is the alarm path alone.
    rules = (
        ThresholdRule("high", "level", Colour.YELLOW, high=15.0, clear_below=10.0),
        OfflineRule("offline", Colour.BLUE),
    )
    return [
        Sensor(sensor_id(i), STREET, SensorKind.WATER_LEVEL, Point(121.445, 31.225), "LAT", rules=rules)
        for i in range(SENSORS)
    ]


# --- the publisher (a process of its own) ----------------------------------------------------------


def publish(url: str, seconds: int, prefix: str) -> None:
    publisher = MqttPublisher(url, f"lat-pub-{uuid.uuid4().hex[:8]}")
    topics = [f"chengyun/{prefix}/sensors/{sensor_id(i)}" for i in range(SENSORS)]
    per_tick = SENSORS // TICKS
    start = time.time() + 0.5
    spike = 0
    for second in range(seconds):
        spiking = {(spike + k) % SENSORS for k in range(SPIKES)}
        spike += SPIKES
        for tick in range(TICKS):
            at = start + second + tick / TICKS
            delay = at - time.time()
            if delay > 0:
                time.sleep(delay)
            now = time.time()
            lo = tick * per_tick
            messages = [
                (
                    topics[i],
                    b'{"ts": %.3f, "values": {"level": %s}}' % (now, b"20.0" if i in spiking else b"1.0"),
                )
                for i in range(lo, lo + per_tick)
            ]
            publisher.publish_many(messages)
    publisher.close()


# --- one run ---------------------------------------------------------------------------------------


def run_pipeline(url: str, db_url: str, seconds: int) -> tuple[list[float], float, float, int]:
    center = build(Settings(database_url=db_url, run_worker=False), clock=WallClock())
    registered = sensors()
    with center.uow() as uow:
        uow.sensors.upsert(registered)
        uow.commit()
    center.ingest.start_watching(registered)
    center.ingest.warm()  # as Center.start() does before the MQTT worker starts
    gc.freeze()
    rss_before, _ = proc_memory_mb()
    latencies: list[float] = []

    def on_alarms(events: Sequence[AlarmEvent]) -> None:
        now = time.time()
        latencies.extend(now - e.at.timestamp() for e in events if e.kind is AlarmEventKind.RAISED)

    center.alarm_bus.subscribe(on_alarms)
    ingestor = MqttIngestor(
        MqttConfig(url=url, client_id=f"lat-{uuid.uuid4().hex[:8]}", topic=f"chengyun/{STREET}/sensors/+"),
        center.ingest.ingest_messages,
    )
    ingestor.start()
    if not ingestor.wait_connected(10):
        raise SystemExit("MQTT 代理连接失败")
    publisher = subprocess.Popen([sys.executable, __file__, "--publish", url, str(seconds), STREET])
    publisher.wait()
    # Drain: wait until everything published is stored, or nothing has moved for 5 s.
    expected, last, still = SENSORS * seconds, -1, time.monotonic()
    while center.ingest.counters["readings"] < expected and time.monotonic() - still < 5:
        time.sleep(0.2)
        if center.ingest.counters["readings"] != last:
            last, still = center.ingest.counters["readings"], time.monotonic()
    if center.ingest.counters["readings"] < expected:
        print(
            f"\nincomplete run: stored {center.ingest.counters['readings']:,} of {expected:,}; "
            f"ingestor {ingestor.stats()}",
            file=sys.stderr,
        )
    ingestor.stop()
    rss_after, peak = proc_memory_mb()
    readings = center.ingest.counters["readings"]
    center.stop()
    return latencies, rss_after - rss_before, peak, readings


def run_bare(url: str, seconds: int) -> list[float]:
    latencies: list[float] = []

    def sink(batch: Sequence[tuple[str, bytes]]) -> None:
        now = time.time()
        latencies.extend(now - json.loads(payload)["ts"] for _, payload in batch)

    prefix = f"bare{uuid.uuid4().hex[:6]}"
    ingestor = MqttIngestor(
        MqttConfig(
            url=url, client_id=f"lat-bare-{uuid.uuid4().hex[:8]}", topic=f"chengyun/{prefix}/sensors/+"
        ),
        sink,
    )
    ingestor.start()
    if not ingestor.wait_connected(10):
        raise SystemExit("MQTT 代理连接失败")
    subprocess.run([sys.executable, __file__, "--publish", url, str(seconds), prefix], check=True)
    time.sleep(1.0)
    ingestor.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--broker", default="own", help="own (a Mosquitto started here) or an mqtt:// URL")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--publish", nargs=3, metavar=("URL", "SECONDS", "STREET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish(args.publish[0], int(args.publish[1]), args.publish[2])
        return
    with own_broker() if args.broker == "own" else nullcontext(args.broker) as url:
        measure(args, url)


@contextmanager
def own_broker() -> Iterator[str]:
    """A Mosquitto on a free local port with a deployment's queue limit; stopped afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        conf = Path(folder) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\n"
        )
        broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            for _ in range(50):
                with socket.socket() as s, suppress(OSError):
                    s.connect(("127.0.0.1", port))
                    break
                time.sleep(0.1)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            broker.terminate()
            broker.wait(5)


def measure(args: argparse.Namespace, url: str) -> None:
    rows: dict[str, list[list[float]]] = {"bare": [], "alarm": []}
    memory: list[float] = []
    throughput: list[float] = []
    for run in range(args.runs):
        progress(f"run {run + 1}/{args.runs}: bare broker")
        bare = run_bare(url, args.seconds)
        rows["bare"].append([percentile(bare, 50), percentile(bare, 99), len(bare)])
        progress(f"run {run + 1}/{args.runs}: full pipeline ({args.backend})")
        postgres = postgres_base_url(None) if args.backend == "postgres" else None
        with temp_database(args.backend, postgres) as db_url:
            alarm, grown, _peak, readings = run_pipeline(url, db_url, args.seconds)
        rows["alarm"].append([percentile(alarm, 50), percentile(alarm, 99), len(alarm)])
        memory.append(grown)
        throughput.append(readings / args.seconds)
    progress("", done=True)
    print(
        f"{SENSORS:,} sensors at 1 Hz for {args.seconds} s, {SPIKES} new alarms a second; "
        f"broker {args.broker}; "
        f"{args.runs} runs (median, min–max); {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(
        table(
            ["path", "p50 ms", "p99 ms", "events"],
            [
                [
                    name,
                    med_range([r[0] * 1000 for r in runs]),
                    med_range([r[1] * 1000 for r in runs]),
                    med_range([r[2] for r in runs], 0),
                ]
                for name, runs in (
                    ("publish → receive (bare)", rows["bare"]),
                    ("publish → alarm", rows["alarm"]),
                )
            ],
        )
    )
    print(
        f"readings stored: {med_range(throughput, 0)} a second of the {SENSORS:,} published "
        f"(all of them stored when equal); alarms seen: {med_range([r[2] for r in rows['alarm']], 0)} "
        f"of {SPIKES * args.seconds}"
    )
    print(f"worker memory grown for the live state (RSS after − before): {med_range(memory)} MiB")
    alarm_p99 = statistics.median(r[1] for r in rows["alarm"])
    bare_p99 = statistics.median(r[1] for r in rows["bare"])
    print(f"p99 publish → alarm is {alarm_p99 / max(1e-9, bare_p99):.1f}× the bare broker's p99")


if __name__ == "__main__":
    main()
