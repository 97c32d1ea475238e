"""The simulator's speed: simulated hours per real second for the full street, and its peak memory.

Each cell runs in a child process of its own (so its peak RSS is its own), on a throwaway SQLite file:

* full: the demo street's 14,855 sensors at their real reporting rates (9.2 million readings a day)
  through the real ingestion path (gateway messages, every rule, storage, roll-ups), plus the day's
  orders worked by the simulated staff through the real services;
* orders only: the same hours without sensors (the baseline: what the sensors add);
* bare feed: only generating the sensors' gateway messages for the same hours, nothing ingested (what
  the feed itself costs), as the simulator does (`SensorFeed.uploads`);
* bare feed, per message: the same messages built the older way, a `Message` and a dict per reading
  packed by `gateway_batches` (the peer of the bare feed: same readings, same wire format).

Every cell also gives its process CPU (the event loop's, or the feed's): readings per CPU second for
the sensor cells, and CPU seconds per simulated hour, the figures that hold on a shared machine.

Target (issue 7): a 24-hour day in under 5 minutes of real time, i.e. at least 4.8 simulated hours per
real second. The figures are the event loop's time (set-up, ~10 s of loading the street and training
the classifier, is not counted) and the median (min–max) of `--runs` runs.

    .venv/bin/python bench/simulate.py                    # 2 simulated hours from 09:00, 3 runs, ~15 min
    .venv/bin/python bench/simulate.py --hours 24 --runs 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from _common import med_range, progress, table


def child(cell: str, hours: float, load: float, seed: int) -> dict[str, float | None]:
    from chengyun.sim.day import DEFAULT_START, Options, run, scenario_timing, sensor_sample
    from chengyun.sim.sensors import SensorFeed, gateway_batches

    start = DEFAULT_START + timedelta(hours=9)
    cpu = None
    if cell.startswith("bare feed"):
        feed = SensorFeed(
            sensor_sample(seed, 1.0), seed, start=start, timing=scenario_timing(seed, start, None)
        )
        began, cpu_began = time.perf_counter(), time.process_time()
        readings = 0
        t = start
        while t < start + timedelta(hours=hours):
            t += timedelta(minutes=5)
            if cell == "bare feed":
                feed.uploads(t)
            else:
                messages = feed.messages(t)
                gateway_batches(messages)
                readings += len(messages)
        readings += feed.reports
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
    else:
        # The event loop's process CPU, as the bare cells have theirs: `Simulation.run` timed from here,
        # so the same script measures an older checkout (PYTHONPATH) in the same run.
        from chengyun.sim.engine import Simulation

        loop = Simulation.run
        spent: list[float] = []

        def timed(self: Simulation, *args: Any, **kwargs: Any) -> None:
            began = time.process_time()
            try:
                loop(self, *args, **kwargs)
            finally:
                spent.append(time.process_time() - began)

        Simulation.run = timed  # type: ignore[method-assign]
        report = run(
            Options(hours=hours, seed=seed, load=load, start=start, sensors=1.0 if cell == "full" else 0)
        )
        seconds = report["run"]["simulated_seconds"]
        readings = report["sensors"]["readings"]
        cpu = sum(spent)
    from _common import proc_memory_mb

    return {"seconds": seconds, "cpu": cpu, "readings": readings, "peak_mib": proc_memory_mb()[1]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--load", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="write the raw figures here")
    parser.add_argument(
        "--cells",
        default="full,orders only,bare feed,bare feed, per message",
        help="which cells, comma-separated",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.hours, args.load, args.seed)))
        return
    known = ("full", "orders only", "bare feed", "bare feed, per message")
    wanted = [c.strip() for c in args.cells.replace(", per message", "|per message").split(",")]
    cells = tuple(c for c in known if c.replace(", per message", "|per message") in wanted)
    results: dict[str, list[dict[str, float | None]]] = {c: [] for c in cells}
    for k in range(args.runs):
        for cell in cells:  # interleaved, so background load hits every cell alike
            progress(f"run {k + 1}/{args.runs}: {cell} …")
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    cell,
                    "--hours",
                    str(args.hours),
                    "--load",
                    str(args.load),
                    "--seed",
                    str(args.seed),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            results[cell].append(json.loads(out.stdout.strip().splitlines()[-1]))
    progress("done", done=True)
    rows = []
    for cell in cells:
        runs = results[cell]
        seconds = [float(r["seconds"] or 0.0) for r in runs]
        rate = [args.hours / s for s in seconds]
        day = [24 * s / args.hours / 60 for s in seconds]
        readings = [float(r["readings"] or 0.0) / s / 1000 for r, s in zip(runs, seconds, strict=True)]
        cpu = [float(r["readings"] or 0.0) / r["cpu"] / 1000 for r in runs if r["cpu"]]
        cpu_hour = [float(r["cpu"]) / args.hours for r in runs if r["cpu"]]
        rows.append(
            [
                cell,
                med_range(rate, 3),
                med_range(day, 1),
                med_range(readings, 1) if runs[0]["readings"] else "-",
                med_range(cpu, 0) if cpu and runs[0]["readings"] else "-",
                med_range(cpu_hour, 1) if cpu_hour else "-",
                med_range([float(r["peak_mib"] or 0.0) for r in runs], 0),
            ]
        )
    print(
        f"\n{args.hours:g} simulated hours from 09:00, load ×{args.load:g}, seed {args.seed},"
        f" {args.runs} runs\n"
    )
    header = [
        "cell",
        "sim hours / s",
        "24 h takes (min)",
        "k readings / s",
        "k readings / CPU s",
        "CPU s / sim hour",
        "peak RSS (MiB)",
    ]
    print(table(header, rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
