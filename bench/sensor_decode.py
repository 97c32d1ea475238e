"""Sensor payload decoding at the edge: data points/s and per-message latency of
`chengyun.adapters.payloads`, beside a bare baseline (stdlib `json.loads` and untyped `msgspec` decode of
the same bytes, no checks) in the same run.

A data point is one value of one reading. Workloads:
  single   one reading with one value per MQTT message (epoch seconds), the contract object
  gateway  100 readings per message (JSON list of {"sensor_id","ts","values"}, ISO-8601 times)
  senml    SenML packs of 100 records (10 sensors x 10 quantities, bn per sensor, bt + t, units)
  gateway with 10% bad readings (strings, NaN, missing ts): the slow path that names each problem
Single messages are also decoded in bursts of 1000 with `decode_messages` (µs per message there is the
burst's time divided by its size).

Run: .venv/bin/python bench/sensor_decode.py [--runs 3] [--points 400000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from _common import med_range, percentile, progress, table
from chengyun.adapters.payloads import decode_message, decode_messages

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BASE = NOW.timestamp() - 30
TOPIC = "chengyun/jingansi/sensors/GW-0001"


def single_messages(rng: random.Random, n: int) -> list[bytes]:
    return [
        json.dumps(
            {"ts": round(BASE + rng.random() * 20, 3), "values": {"tilt": round(rng.gauss(0, 1), 4)}}
        ).encode()
        for _ in range(n)
    ]


def iso(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def gateway_messages(rng: random.Random, n: int, bad_share: float = 0.0) -> list[bytes]:
    out = []
    for _ in range(n):
        items: list[dict[str, object]] = []
        for i in range(100):
            item: dict[str, object] = {
                "sensor_id": f"S-{rng.randrange(14000):05d}",
                "ts": iso(rng.randrange(1, 30)),
                "values": {"level": round(rng.uniform(0, 100), 2)},
            }
            if bad_share and rng.random() < bad_share:
                kind = i % 3
                if kind == 0:
                    item["values"] = {"level": "high"}
                elif kind == 1:
                    item["values"] = {"level": float("nan")}
                else:
                    del item["ts"]
            items.append(item)
        out.append(json.dumps(items).encode())
    return out


def senml_messages(rng: random.Random, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        pack: list[dict[str, object]] = []
        for s in range(10):
            sensor = f"S-{rng.randrange(14000):05d}:"
            for q in range(10):
                record: dict[str, object] = {"n": f"q{q}", "v": round(rng.uniform(-5, 5), 3), "u": "mm"}
                if q == 0:
                    record["bn"] = sensor
                    if s == 0:
                        record["bt"] = round(BASE, 3)
                    record["t"] = s
                pack.append(record)
        out.append(json.dumps(pack).encode())
    return out


def run_once(messages: list[bytes], fn: Callable[[bytes], object]) -> tuple[float, list[float]]:
    """(seconds for the whole list untimed per message, per-message microseconds from a second pass)."""
    start = time.perf_counter()
    for m in messages:
        fn(m)
    total = time.perf_counter() - start
    lat = []
    clock = time.perf_counter_ns
    for m in messages:
        t0 = clock()
        fn(m)
        lat.append((clock() - t0) / 1000)
    return total, lat


def count_points(messages: list[bytes]) -> tuple[int, int]:
    good = bad = 0
    for m in messages:
        decoded, rejected = decode_message(TOPIC, m, NOW)
        good += sum(len(d.values) for d in decoded)
        bad += len(rejected)
    return good, bad


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--points", type=int, default=400_000, help="data points per workload")
    args = parser.parse_args()
    rng = random.Random(20261125)
    workloads = {
        "single (1 point/msg)": single_messages(rng, args.points),
        "gateway (100/msg)": gateway_messages(rng, args.points // 100),
        "senml (100/msg)": senml_messages(rng, args.points // 100),
        "gateway, 10% bad": gateway_messages(rng, args.points // 100, bad_share=0.1),
    }
    decoders: dict[str, Callable[[bytes], object]] = {
        "payloads.decode_message": lambda m: decode_message(TOPIC, m, NOW),
        "baseline json.loads": json.loads,
        "baseline msgspec decode": msgspec.json.decode,
    }
    rows = []
    # A worker hands the messages of one receive burst to decode_messages at once.
    burst = 1000
    singles = workloads["single (1 point/msg)"]
    groups = [[(TOPIC, m) for m in singles[i : i + burst]] for i in range(0, len(singles), burst)]
    rates, p50s, p99s = [], [], []
    for r in range(args.runs):
        progress(f"single, bursts of {burst}: run {r + 1}/{args.runs}")
        start = time.perf_counter()
        for group in groups:
            decode_messages(group, NOW)
        rates.append(len(singles) / (time.perf_counter() - start) / 1000)
        lat = []
        for group in groups:
            t0 = time.perf_counter_ns()
            decode_messages(group, NOW)
            lat.append((time.perf_counter_ns() - t0) / 1000 / len(group))
        p50s.append(percentile(lat, 50))
        p99s.append(percentile(lat, 99))
    burst_row = ["single (1 point/msg)", f"payloads.decode_messages, bursts of {burst}", "50"]
    burst_row += [med_range(rates, 0), med_range(p50s, 2), med_range(p99s, 2), "0"]
    for wname, messages in workloads.items():
        good, bad = count_points(messages)
        size = statistics.mean(len(m) for m in messages)
        for dname, fn in decoders.items():
            if dname == "baseline msgspec decode" and "bad" in wname:
                continue  # NaN is not JSON: msgspec refuses those messages outright
            rates, p50s, p99s = [], [], []
            for r in range(args.runs):
                progress(f"{wname} / {dname}: run {r + 1}/{args.runs}")
                total, lat = run_once(messages, fn)
                rates.append(good / total / 1000)
                p50s.append(percentile(lat, 50))
                p99s.append(percentile(lat, 99))
            rows.append(
                [
                    wname,
                    dname,
                    f"{size:.0f}",
                    med_range(rates, 0),
                    med_range(p50s, 2),
                    med_range(p99s, 2),
                    f"{bad}" if dname.startswith("payloads") else "",
                ]
            )
        if wname.startswith("single"):
            rows.append(burst_row)
    progress("done", done=True)
    print(f"\n{args.points} data points per workload, {args.runs} runs, median (min–max)\n")
    header = ["workload", "decoder", "bytes/msg", "k points/s", "p50 µs/msg", "p99 µs/msg", "rejected"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
