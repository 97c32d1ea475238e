"""Instructions per stored point of one MQTT worker's batches, for A/B of a change on a machine whose
wall-clock speed swings: `IngestService.ingest_messages` in-process under callgrind, the instrumentation
on only around the measured batches.

The workload is one of two workers of `bench/sensor_mqtt.py --workers 2`: gateway messages of 100
readings on its topic (7,000 of the 14,064 water-level gauges), batches of 450 messages (what the MQTT
ingestor hands the sink: half its receive window), the live state held 5 s (`ingest_sink:*_held`). The
service's clock moves 1 s a batch, so a sensor's state is saved every fifth batch, as in a worker at
~50,000 points/s; `--warm` batches first (not counted), then `--batches` counted (a multiple of 5: whole
save cycles). SQLite, the database's work counted with the rest (it runs in this process).

  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.%p \\
      .venv/bin/python bench/sensor_instructions.py --callgrind
  callgrind_annotate /tmp/cg.PID | head    # "PROGRAM TOTALS" ÷ the points printed

Run without valgrind it prints the points and the wall and CPU time of the counted batches. Run with
PYTHONHASHSEED=0 for repeatable counts (a set's or dict's order can change a loop's work).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import ingest_sink
from _common import temp_database
from chengyun.adapters.clock import ManualClock
from sensor_ingest import registered_center
from sensor_mqtt import gateway_lines

TOPIC = "chengyun/bench/sensors/S0"
PER_BATCH = 450


def _callgrind(state: str) -> None:
    """Callgrind's instrumentation on or off in this process. The tool answers between guest
    instructions, so this process keeps running (a little counted arithmetic) until it has answered."""
    proc = subprocess.Popen(["callgrind_control", "-i", state, str(os.getpid())], stdout=subprocess.DEVNULL)
    while proc.poll() is None:
        sum(range(1000))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warm", type=int, default=2, help="batches before the counted ones")
    parser.add_argument("--batches", type=int, default=5, help="counted batches")
    parser.add_argument("--callgrind", action="store_true", help="run under callgrind: toggle its counting")
    args = parser.parse_args()
    total = args.warm + args.batches
    # Worker 0's messages of a two-topic run: chunks of 20 alternate between the two halves.
    lines = gateway_lines(2 * total * PER_BATCH + 40, parts=2)
    mine = [(TOPIC, line) for m, line in enumerate(lines) if m // 20 % 2 == 0][: total * PER_BATCH]
    batches = [mine[i : i + PER_BATCH] for i in range(0, len(mine), PER_BATCH)]
    with temp_database("sqlite", None) as url:
        center = registered_center(url, ingest_sink.HELD_S)
        clock = center.clock
        assert isinstance(clock, ManualClock)
        try:
            ingest = center.ingest.ingest_messages
            for batch in batches[: args.warm]:
                ingest(batch)
                clock.advance(seconds=1)
            points = 0
            if args.callgrind:
                _callgrind("on")
            wall, cpu = time.perf_counter(), time.process_time()
            for batch in batches[args.warm :]:
                points += ingest(batch).points
                clock.advance(seconds=1)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if args.callgrind:
                _callgrind("off")
        finally:
            center.stop()
    expected = args.batches * PER_BATCH * 100
    if points != expected:
        sys.exit(f"stored {points} of {expected} points")
    print(f"points {points}; {points / wall / 1000:.1f} k points/s, {cpu / points * 1e6:.2f} µs CPU a point")


if __name__ == "__main__":
    main()
