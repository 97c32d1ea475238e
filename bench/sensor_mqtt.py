"""MQTT ingestion throughput: `chengyun.adapters.mqtt.MqttIngestor` beside the bare broker baseline
(`mosquitto_sub` receiving the same messages), in the same run, against a real Mosquitto with its
default configuration.

Workloads (QoS 1 published and subscribed):
  single   one contract reading per message, 61 bytes: {"ts": "...Z", "values": {"level": 1.23}}
           on chengyun/bench/sensors/S{i}
  gateway  100 readings per message (JSON list of {"sensor_id","ts","values"}, 8 KB)
Consumers (each a process of its own):
  mosquitto_sub -q 1 -V mqttv5 -D connect receive-maximum 900
                the bare broker baseline, with the same in-flight window as the ingestor. (Plain
                `mosquitto_sub -q 1`, MQTT 3.1.1 with Mosquitto's default 20 messages in flight, cannot
                serve as the baseline: fed a steady 15,000 msg/s it already loses messages, because
                Mosquitto drops QoS 1 messages once 1,000 are queued behind those 20.)
  MqttIngestor  default MqttConfig (receive maximum 900), sink chosen by --sink (default: no-op); it
                reports after each stored, then acknowledged, batch
Publishers: --publishers `mosquitto_pub -l -q 1` processes, fed lines by this script.

Flow control. Mosquitto drops QoS 1 messages for good once a subscriber has its in-flight window plus
`max_queued_messages` (1000) waiting, so an unthrottled publisher would measure drops, not the consumer.
This script keeps at most --window (1,800) messages published but not yet consumed; the rate is
N / (time from the first publish until the consumer has the N-th message). Broker, publishers, this
script and the consumer share the machine's two cores.

With --workers N (and --publishers N) N ingestor processes share one database, worker k subscribed to
publisher k's topic only, and the gateway messages split the sensors between the topics (CHENGYUN_MQTT_TOPIC:
with the live state held each sensor stays with one worker); counts and CPU are summed over the workers.

Run: .venv/bin/python bench/sensor_mqtt.py [--url mqtt://127.0.0.1:1883] [--runs 3] [--messages 100000]
     [--gateway-messages 10000] [--sink noop | package.module:factory] [--workers N --publishers N]
     (factory() -> Callable[[Sequence[tuple[str, bytes]]], object], e.g. the lead's decode+validate+rules+
     store sink)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from _common import med_range, progress, table
from chengyun.adapters.mqtt import MqttConfig, MqttIngestor, Sink, parse_mqtt_url

PREFIX = "chengyun/bench/sensors"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


# -- payloads -------------------------------------------------------------------------------------


def iso(ms: int) -> str:
    return (NOW + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def single_lines(n: int) -> list[bytes]:
    """The contract object, one reading: 61 bytes."""
    return [b'{"ts": "%s", "values": {"level": 1.23}}' % iso(i % 86_400_000).encode() for i in range(n)]


def gateway_lines(n: int, per: int = 100, parts: int = 1, chunk: int = 20) -> list[bytes]:
    """`parts` > 1: the 14,000 sensors split into that many ranges, each reported by one gateway topic
    only (chunk c of `chunk` messages carries range c % parts, and `feed` publishes chunk c through
    publisher c % publishers), so that a worker subscribed to one topic sees all of its sensors."""
    out = []
    size = 14000 // parts
    for m in range(n):
        part, c = m // chunk % parts, m // chunk // parts
        j = c * chunk + m % chunk  # the message's place within its range's messages
        items = [
            {
                "sensor_id": f"S-{part * size + (j * per + k) % size:05d}",
                "ts": iso(m),
                "values": {"level": 1.23},
            }
            for k in range(per)
        ]
        out.append(json.dumps(items, separators=(",", ":")).encode())
    return out


# -- sinks ----------------------------------------------------------------------------------------


def noop_sink(batch: Sequence[tuple[str, bytes]]) -> None:
    return None


def load_sink(spec: str) -> Sink:
    if spec == "noop":
        return noop_sink
    if spec == "service":
        raise NotImplementedError(
            "--sink service is not wired yet: pass the dotted path of a factory returning the ingestion "
            "sink (decode + validate + rules + store), e.g. --sink chengyun.bootstrap:mqtt_sink"
        )
    module, _, name = spec.partition(":")
    if not name:
        raise SystemExit(f"--sink: expected noop or package.module:factory, got {spec!r}")
    factory: Callable[[], Sink] = getattr(importlib.import_module(module), name)
    return factory()


# -- one measurement -------------------------------------------------------------------------------


# -- consumers ------------------------------------------------------------------------------------


def mosquitto_argv(tool: str, url: str) -> list[str]:
    address = parse_mqtt_url(url)
    argv = [
        tool,
        "-h",
        address.host,
        "-p",
        str(address.port),
        "-q",
        "1",
        "-i",
        f"bench-{tool.removeprefix('mosquitto_')}-{uuid.uuid4().hex[:8]}",
    ]
    if address.username is not None:
        argv += ["-u", address.username]
        if address.password is not None:
            argv += ["-P", address.password]
    return argv


class Consumer:
    """A subprocess whose standard output tells how many messages it has consumed: one line per message
    (mosquitto_sub), or the running total after each batch (the ingestor)."""

    def __init__(
        self,
        kind: str,
        url: str,
        sink: str,
        topic: str = f"{PREFIX}/+",
        changed: threading.Condition | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.count = 0
        self.last_change = time.perf_counter()
        self.changed = changed or threading.Condition()
        if kind == "mosquitto_sub":
            argv = [*mosquitto_argv("mosquitto_sub", url), "-t", f"{PREFIX}/+"]
            argv += ["-V", "mqttv5", "-D", "connect", "receive-maximum", str(MqttConfig.receive_maximum)]
        else:
            argv = [sys.executable, str(Path(__file__).resolve()), "--child", "--url", url, "--sink", sink]
            argv += ["--topic", topic]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, bufsize=0, env=env)
        assert self.process.stdout is not None
        self._stdout: IO[bytes] = self.process.stdout
        self.database = ""  # the sink's database, for the other ingestors of a group
        if kind == "ingestor":
            word, _, database = self._stdout.readline().strip().partition(b" ")
            if word != b"ready":
                raise SystemExit("the ingestor did not start")
            self.database = database.decode()
        else:
            time.sleep(0.5)  # mosquitto_sub gives no sign of its subscription being in place
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        per_line = self.kind != "ingestor"
        tail = b""
        while chunk := self._stdout.read(1 << 16):
            if per_line:
                count = self.count + chunk.count(b"\n")
            else:
                head, _, tail = (tail + chunk).rpartition(b"\n")
                if not head:
                    continue
                count = int(head.rsplit(b"\n", 1)[-1])
            with self.changed:
                self.count = count
                self.last_change = time.perf_counter()
                self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= count, timeout)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Group:
    """Several ingestor processes, each subscribed to one publisher's topic: counted together."""

    def __init__(self, url: str, sink: str, workers: int) -> None:
        self.changed = threading.Condition()
        first = Consumer("ingestor", url, sink, f"{PREFIX}/S0", self.changed)
        # The others store into the first one's database (bench/ingest_sink.py), their own sensors each.
        env = {**os.environ, "BENCH_INGEST_DATABASE_URL": first.database}
        self.members = [first] + [
            Consumer("ingestor", url, sink, f"{PREFIX}/S{k}", self.changed, env) for k in range(1, workers)
        ]

    @property
    def count(self) -> int:
        return sum(m.count for m in self.members)

    @property
    def last_change(self) -> float:
        return max(m.last_change for m in self.members)

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= count, timeout)

    def close(self) -> None:
        for m in self.members:
            m.close()


def child_main(url: str, sink_spec: str, topic: str) -> None:
    """The ingestor process: "ready" once subscribed, then the running total after each stored batch."""
    sink = load_sink(sink_spec)
    stored = 0

    def counting(batch: Sequence[tuple[str, bytes]]) -> None:
        nonlocal stored
        sink(batch)
        stored += len(batch)
        sys.stdout.write(f"{stored}\n")
        sys.stdout.flush()

    config = MqttConfig(
        url=url,
        client_id=f"bench-ingestor-{uuid.uuid4().hex[:8]}",
        topic=topic,
        share_group=None,
        session_expiry=0,  # killed at the end of a measurement: leave no session queueing for it
    )
    worker = MqttIngestor(config, counting)
    worker.start()
    if not worker.wait_connected(10):
        raise SystemExit("no connection to the broker")
    print("ready", os.environ.get("BENCH_INGEST_DATABASE_URL", ""), flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        worker.stop()


# -- one measurement ------------------------------------------------------------------------------


def feed(
    url: str, lines: list[bytes], consumer: Consumer | Group, args: argparse.Namespace, chunk: int
) -> tuple[float, int]:
    """Publishes `lines` through mosquitto_pub processes, never more than the window ahead of the
    consumer; (messages/s from the first publish until the consumer has them all, messages missing after
    a 20 s wait: the broker dropped them)."""
    procs = [
        subprocess.Popen(
            [*mosquitto_argv("mosquitto_pub", url), "-l", "-t", f"{PREFIX}/S{k}"], stdin=subprocess.PIPE
        )
        for k in range(args.publishers)
    ]
    time.sleep(0.2)  # let the publishers connect
    window = args.window
    if chunk > window:
        raise SystemExit(f"--window must be at least {chunk}")
    n = len(lines)
    sent = 0
    started = time.perf_counter()
    try:
        while sent < n:
            part = lines[sent : sent + chunk]
            if not consumer.wait_for(sent + len(part) - window, 20):
                break
            stdin = procs[(sent // chunk) % len(procs)].stdin
            assert stdin is not None
            stdin.write(b"\n".join(part) + b"\n")
            stdin.flush()
            sent += len(part)
        consumer.wait_for(n, 20)
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in procs:
            proc.wait(30)
    missing = n - consumer.count
    if missing:  # the broker dropped some: the rate up to the last message that did arrive
        return consumer.count / (consumer.last_change - started), missing
    return n / elapsed, 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    url: str, kind: str, lines: list[bytes], args: argparse.Namespace, chunk: int
) -> tuple[float, int, float]:
    """(messages/s, messages missing, the consumer's CPU seconds per message consumed)."""
    consumer: Consumer | Group
    if kind == "ingestor" and args.workers > 1:
        consumer = Group(url, args.sink, args.workers)
        pids = [m.process.pid for m in consumer.members]
    else:
        consumer = Consumer(kind, url, args.sink)
        pids = [consumer.process.pid]
    try:
        cpu = sum(map(cpu_seconds, pids))
        rate, missing = feed(url, lines, consumer, args, chunk)
        cpu = sum(map(cpu_seconds, pids)) - cpu
        return rate, missing, cpu / max(1, consumer.count)
    finally:
        consumer.close()


CONSUMERS = ["mosquitto_sub", "ingestor"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=os.environ.get("CHENGYUN_TEST_MQTT_URL", "mqtt://127.0.0.1:1883"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=100_000, help="single-reading messages per run")
    parser.add_argument("--gateway-messages", type=int, default=10_000, help="100-reading messages per run")
    parser.add_argument("--sink", default="noop", help="noop | service | package.module:factory")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--window", type=int, default=1800, help="messages published, not yet consumed")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="ingestor processes, worker k subscribed to publisher k's topic only (the gateway messages "
        "then split the sensors between the topics); needs --publishers equal to it",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--topic", default=f"{PREFIX}/+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.url, args.sink, args.topic)
        return
    if args.workers > 1 and args.publishers != args.workers:
        raise SystemExit("--workers N needs --publishers N (one topic each)")
    load_sink(args.sink)  # fail early on a bad --sink

    single = single_lines(args.messages)
    gateway = gateway_lines(args.gateway_messages, parts=args.workers)
    print(
        f"broker {args.url}; {args.messages:,} single-reading messages ({len(single[0])} B) and "
        f"{args.gateway_messages:,} gateway messages (100 readings, {len(gateway[0]):,} B) per run from "
        f"{args.publishers} mosquitto_pub -l -q 1; window {args.window:,}; sink {args.sink}; {args.runs} runs"
    )
    results: dict[tuple[str, str], list[float]] = {}
    lost: dict[tuple[str, str], list[int]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    for run in range(1, args.runs + 1):
        for workload, lines, chunk in (("single", single, 200), ("gateway", gateway, 20)):
            for kind in CONSUMERS:
                progress(f"run {run}/{args.runs}: {kind}, {workload}")
                rate, missing, cpu = measure(args.url, kind, lines, args, chunk)
                cpus.setdefault((kind, workload), []).append(cpu)
                lost.setdefault((kind, workload), []).append(missing)
                results.setdefault((kind, workload), []).append(rate)
    progress("", done=True)

    rows = []
    for workload, per in (("single", 1), ("gateway", 100)):
        for kind in CONSUMERS:
            rates = results[(kind, workload)]
            dropped = lost[(kind, workload)]
            name = f"MqttIngestor (sink {args.sink})" if kind == "ingestor" else kind
            rows.append(
                [
                    f"{workload}: {name}",
                    med_range([r / 1000 for r in rates]),
                    med_range([r * per / 1000 for r in rates]),
                    f"{sum(1 for d in dropped if d)} ({sum(dropped):,} messages)",
                    med_range([c / per * 1e6 for c in cpus[(kind, workload)]]),
                ]
            )
    header = [
        "consumer",
        "k messages/s, median (min–max)",
        "k readings/s",
        "runs with broker drops",
        "consumer CPU µs/reading",
    ]
    print(table(header, rows))
    ingestor = statistics.median(results[("ingestor", "single")])
    baseline = statistics.median(results[("mosquitto_sub", "single")])
    print(
        f"single-reading messages: MqttIngestor / mosquitto_sub = {ingestor / baseline:.0%} (target >= 70%)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if any(any(d) for d in lost.values()):
        print(
            "Mosquitto dropped QoS 1 messages in some runs (its log: 'Outgoing messages are being dropped'); "
            "the rate of such a run counts up to the last message that arrived."
        )


if __name__ == "__main__":
    main()
