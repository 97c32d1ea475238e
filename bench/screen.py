"""The wall screen in Debian's Chromium: event-to-screen latency, frame time while panning the map with the
street's 14,855 sensor points, and the page's memory under demo traffic.

  latency  orders created through the API one by one; for each, the time from just before the POST to
           (a) the bare SSE message arriving in the page (the baseline: a plain EventSource beside the
           screen's), (b) the feed line on the screen, (c) the order's row in the urgent list (after the
           screen re-read its figures). The order's creation itself is inside every figure.
  frames   requestAnimationFrame intervals while the map is dragged for a few seconds, with the sensor
           layer drawn and, as the comparison, with it emptied.
  memory   `chengyun demo --speed S` in a subprocess; the screen and, as the baseline, a bare page on the
           same live feed, in one browser: each page's JS heap after a forced garbage collection and its
           DOM node count, and the whole browser's RSS, sampled every --every seconds for --minutes; the
           slope after warm-up in MiB per hour.
  redraw   `chengyun demo --speed S` in a subprocess and two screens on it side by side, in one browser,
           for --minutes: this tree's page, and the same page with screen.js as it is in --baseline-ref
           (git; default main) as the comparison. For each, after a warm-up (the first minute: the
           sensors' start-up alarms), per minute: the renderer's main-thread time (CDP
           Performance.getMetrics TaskDuration; of it ScriptDuration, and Layout + RecalcStyle) and the
           charts' redraws (ECharts `finished` events); and the JS heap after a forced garbage
           collection, sampled every --every seconds, as a least-squares slope in MiB per minute.

    .venv/bin/python bench/screen.py latency frames      # ~2 min (loads the demo street's 14,855 sensors)
    .venv/bin/python bench/screen.py memory --minutes 15 --speed 60
    .venv/bin/python bench/screen.py redraw --minutes 3 --speed 10 --every 10
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from chengyun.api.app import create_app
from chengyun.bootstrap import build
from chengyun.domain.access import Role
from chengyun.settings import Settings
from chengyun.sim.demo import STREET, load_demo_street

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

WATCH = """
(() => {
  const seen = window.__bench = { bare: {}, feed: {}, live: {} };
  const stamp = () => performance.timeOrigin + performance.now();
  const token = encodeURIComponent(localStorage.getItem("chengyun.token"));
  const bare = new EventSource("/api/v1/events?access_token=" + token);
  bare.addEventListener("order", (m) => { seen.bare[JSON.parse(m.data).order_id] ??= stamp(); });
  new MutationObserver(() => {
    const feed = document.querySelectorAll("#feed li[data-order-id]");
    for (const li of feed) seen.feed[li.dataset.orderId] ??= stamp();
    const live = /在办 (\\d+) 件/.exec(document.getElementById("counts").textContent);
    if (live) seen.live[live[1]] ??= stamp();
  }).observe(document.body, { childList: true, subtree: true });
})();
"""

FRAMES = """
(ms) => new Promise((resolve) => {
  const gaps = []; let last = performance.now(); const end = last + ms;
  function frame(t) {
    gaps.push(t - last); last = t;
    if (t < end) requestAnimationFrame(frame); else resolve(gaps);
  }
  requestAnimationFrame(frame);
})
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def launch(p: Any) -> Browser:
    return p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, "--enable-precise-memory-info"])


def open_screen(browser: Browser, url: str, token: str) -> Page:
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{url}/screen#token={token}")
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=120_000)
    page.wait_for_function("document.querySelector('#link').textContent.includes('实时连接')", timeout=60_000)
    return page


def in_process_server(port: int) -> tuple[str, str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="cy-screen-bench-"))
    center = build(Settings(database_url=f"sqlite:///{folder / 'bench.db'}", run_worker=False))
    started = time.monotonic()
    today = center.clock.now().date()
    counts = load_demo_street(center, today, 2)
    print(
        f"demo street loaded: {counts['sensors']} sensors in {time.monotonic() - started:.0f} s", flush=True
    )
    token, _ = center.auth.issue(Role.ADMIN, [STREET], name="基准测试")
    server = uvicorn.Server(
        uvicorn.Config(create_app(center), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", token, server


ADDRESSES = ["愚园路608弄6号", "久光百货门口", "南京西路1618号", "静安寺附近", "常德路近南京西路"]


def latency(page: Page, url: str, token: str, n: int) -> dict[str, list[float]]:
    page.evaluate(WATCH)
    page.wait_for_timeout(1000)
    live = int(page.evaluate("/在办 (\\d+) 件/.exec(document.getElementById('counts').textContent)[1]"))
    sent: dict[int, float] = {}
    counted: dict[int, int] = {}  # order id -> the live count the figures show once they include it
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for i in range(n):
            body = {
                "source": "patrol",
                "category": "200101",
                "description": f"人行道地砖翘起（基准 {i}）",
                "address": ADDRESSES[i % len(ADDRESSES)],
            }
            before = time.time() * 1000
            response = client.post("/api/v1/orders", json=body)
            response.raise_for_status()
            sent[response.json()["id"]] = before
            counted[response.json()["id"]] = live + i + 1
            page.wait_for_timeout(700)  # one order at a time: each figure is one event's latency
    page.wait_for_timeout(3000)
    seen = page.evaluate("window.__bench")
    out: dict[str, list[float]] = {"bare": [], "feed": [], "figures": []}
    for order_id, at in sent.items():
        for key in ("bare", "feed"):
            if str(order_id) in seen[key]:
                out[key].append(seen[key][str(order_id)] - at)
        if str(counted[order_id]) in seen["live"]:
            out["figures"].append(seen["live"][str(counted[order_id])] - at)
    print(f"not seen: { {k: n - len(v) for k, v in out.items()} }", flush=True)
    return out


def frames(page: Page, seconds: float) -> dict[str, list[float]]:
    box = page.locator("#c-map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    result: dict[str, list[float]] = {}

    def drag() -> list[float]:
        page.mouse.move(cx, cy)
        page.mouse.down()
        handle = page.evaluate_handle(FRAMES, seconds * 1000)
        steps = int(seconds * 30)
        for i in range(steps):  # a slow circle: the map follows the pointer on every frame
            phase = i / steps * 6.283
            page.mouse.move(cx + 160 * math.cos(phase), cy + 120 * math.sin(phase))
            page.wait_for_timeout(1000 * seconds / steps)
        page.mouse.up()
        gaps: list[float] = handle.json_value()
        return gaps[2:]  # the first frames measure the start, not the panning

    points = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('c-map')).getOption().series"
        ".filter(s => s.id.startsWith('sensors')).reduce((n, s) => n + s.data.length, 0)"
    )
    print(f"sensor points on the map: {points}", flush=True)
    centre = "echarts.getInstanceByDom(document.getElementById('c-map')).getOption().geo[0].center"
    before = page.evaluate(centre)
    drag()
    print(f"the map's centre moved from {before} to {page.evaluate(centre)} in one drag", flush=True)
    for label in ("with sensors", "without sensors"):
        if label == "without sensors":
            page.evaluate(
                "echarts.getInstanceByDom(document.getElementById('c-map')).setOption("
                "{series: [{id: 'sensors', data: []}, {id: 'sensors-offline', data: []}]})"
            )
        drag()  # warm-up
        result[label] = []
        for _ in range(3):
            result[label] += drag()
    return result


def start_demo(speed: float, port: int) -> tuple[subprocess.Popen[str], str, str]:
    """`chengyun demo` in a subprocess, once it answers: (process, url, admin token)."""
    folder = Path(tempfile.mkdtemp(prefix="cy-screen-demo-"))
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chengyun.cli",
            "demo",
            "--speed",
            str(speed),
            "--port",
            str(port),
            "--db",
            str(folder / "d.db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    token = ""
    assert demo.stdout is not None
    for line in demo.stdout:
        found = re.search(r"#token=(\S+)", line)
        if found:
            token = found.group(1)
            break
    url = f"http://127.0.0.1:{port}"
    # The demo prints its address before the server listens: wait until it answers.
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            demo.terminate()
            raise RuntimeError("the demo server did not come up")
        time.sleep(1)
    # Its output is not read any further: let it go nowhere rather than fill the pipe.
    threading.Thread(target=lambda: [None for _ in demo.stdout or ()], daemon=True).start()
    return demo, url, token


BARE_FEED = """
(() => {
  // The baseline page: the same origin and the same live feed, keeping the last 40 events as the
  // screen's feed does, and nothing else.
  const token = encodeURIComponent(localStorage.getItem("chengyun.token"));
  const kept = window.__kept = [];
  const source = new EventSource("/api/v1/events?alarms=true&access_token=" + token);
  const keep = (m) => { kept.push(JSON.parse(m.data)); if (kept.length > 40) kept.shift(); };
  source.addEventListener("order", keep);
  source.addEventListener("alarm", keep);
})();
"""


def browser_rss_mib() -> float:
    """The resident memory of every Chromium process under this one (browser, renderers, GPU, utility)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        name = re.search(r"Name:\s+(\S+)", status)
        rss = re.search(r"VmRSS:\s+(\d+) kB", status)
        if name and "chrom" in name.group(1) and rss:
            total += int(rss.group(1))
    return total / 1024


def memory(
    minutes: float, every: float, speed: float, port: int
) -> dict[str, list[tuple[float, float, int]]]:
    """The screen and, as the baseline, a bare page on the same feed, side by side in one browser for
    `minutes`: per page (minutes since the start, JS heap after a forced GC in MiB, DOM nodes), plus the
    whole browser's RSS. The pause between samples is the harness's own (time.sleep), so a busy page
    cannot stretch it; each sample prints how long its CDP calls took."""
    demo, url, token = start_demo(speed, port)
    samples: dict[str, list[tuple[float, float, int]]] = {
        "screen": [],
        "bare feed page": [],
        "browser RSS": [],
    }
    try:
        with sync_playwright() as p:
            browser = launch(p)
            screen = open_screen(browser, url, token)
            bare = browser.new_page()
            bare.goto(f"{url}/api/v1/health")
            bare.evaluate("(t) => localStorage.setItem('chengyun.token', t)", token)
            bare.evaluate(BARE_FEED)
            pages = {"screen": screen, "bare feed page": bare}
            cdps = {name: page.context.new_cdp_session(page) for name, page in pages.items()}
            for cdp in cdps.values():
                cdp.send("Performance.enable")
            start = time.monotonic()
            while True:
                at = (time.monotonic() - start) / 60
                took = []
                for name, cdp in cdps.items():
                    t0 = time.monotonic()
                    cdp.send("HeapProfiler.collectGarbage")
                    heap = cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20
                    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                    samples[name].append((at, heap, int(metrics["Nodes"])))
                    took.append(f"{name} {time.monotonic() - t0:.1f} s")
                rss = browser_rss_mib()
                samples["browser RSS"].append((at, rss, 0))
                print(
                    f"  {at:5.1f} min  screen heap {samples['screen'][-1][1]:6.1f} MiB, "
                    f"{samples['screen'][-1][2]} DOM nodes; bare page heap "
                    f"{samples['bare feed page'][-1][1]:5.1f} MiB; browser RSS {rss:6.0f} MiB "
                    f"(sampling took {', '.join(took)})",
                    flush=True,
                )
                if at >= minutes:
                    break
                time.sleep(max(0.0, start + len(samples["screen"]) * every - time.monotonic()))
            browser.close()
    finally:
        demo.terminate()
        demo.wait(timeout=30)
    return samples


# Counts the charts' finished renders (ECharts fires `finished` after every drawn frame of a change).
COUNT_RENDERS = """
() => {
  window.__renders = 0;
  const hook = () => {
    for (const node of document.querySelectorAll(".chart")) {
      const chart = echarts.getInstanceByDom(node);
      if (chart && !chart.__counted) {
        chart.__counted = true;
        chart.on("finished", () => { window.__renders++; });
      }
    }
  };
  hook();
  setInterval(hook, 1000);
}
"""

SCREEN_JS = "src/chengyun/web/static/screen.js"


def redraw(minutes: float, every: float, speed: float, port: int, ref: str) -> dict[str, dict[str, float]]:
    """This tree's screen beside `ref`'s screen.js on one demo server, sampled together."""
    root = Path(__file__).resolve().parents[1]
    baseline_js = subprocess.run(
        ["git", "show", f"{ref}:{SCREEN_JS}"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    demo, url, token = start_demo(speed, port)
    result: dict[str, dict[str, float]] = {}
    try:
        with sync_playwright() as p:
            browser = launch(p)
            pages: dict[str, Page] = {}
            for name in (f"baseline ({ref})", "this tree"):
                context = browser.new_context(viewport={"width": 1920, "height": 1080})
                if name != "this tree":
                    context.route(
                        "**/static/screen.js",
                        lambda route: route.fulfill(
                            body=baseline_js, content_type="application/javascript; charset=utf-8"
                        ),
                    )
                page = context.new_page()
                page.goto(f"{url}/screen#token={token}")
                page.wait_for_selector("body[data-ready=true]", state="attached", timeout=120_000)
                page.evaluate(COUNT_RENDERS)
                pages[name] = page
            sessions = {name: page.context.new_cdp_session(page) for name, page in pages.items()}
            for cdp in sessions.values():
                cdp.send("Performance.enable")
            samples: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
            start = time.monotonic()
            while True:
                at = (time.monotonic() - start) / 60
                for name, cdp in sessions.items():
                    cdp.send("HeapProfiler.collectGarbage")
                    heap = cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20
                    m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
                    renders = float(pages[name].evaluate("window.__renders"))
                    samples[name].append(
                        {
                            "min": at,
                            "heap": heap,
                            "task": m["TaskDuration"],
                            "script": m["ScriptDuration"],
                            "layout": m["LayoutDuration"] + m["RecalcStyleDuration"],
                            "renders": renders,
                            "nodes": m["Nodes"],
                        }
                    )
                print(
                    f"  {at:5.1f} min  "
                    + "  ".join(
                        f"{n}: heap {s[-1]['heap']:.1f} MiB, task {s[-1]['task']:.1f} s, "
                        f"renders {s[-1]['renders']:.0f}"
                        for n, s in samples.items()
                    ),
                    flush=True,
                )
                if at >= minutes:
                    break
                time.sleep(every)
            browser.close()
    finally:
        demo.terminate()
        demo.wait(timeout=30)
    for name, s in samples.items():
        warm = [x for x in s if x["min"] >= min(1.0, minutes / 3)]  # past the start-up burst of alarms
        first, last = warm[0], warm[-1]
        span = last["min"] - first["min"]
        result[name] = {
            "task_s_per_min": (last["task"] - first["task"]) / span,
            "script_s_per_min": (last["script"] - first["script"]) / span,
            "layout_s_per_min": (last["layout"] - first["layout"]) / span,
            "renders_per_min": (last["renders"] - first["renders"]) / span,
            "heap_slope_mib_per_min": slope([x["min"] for x in warm], [x["heap"] for x in warm]),
            "heap_end_mib": last["heap"],
            "nodes_end": last["nodes"],
        }
    return result


def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def table(title: str, rows: dict[str, list[float]], unit: str) -> None:
    print(f"\n### {title}\n\n| | n | p50 {unit} | p90 {unit} | p99 {unit} | max {unit} |")
    print("|---|---|---|---|---|---|")
    for name, values in rows.items():
        if values:
            print(
                f"| {name} | {len(values)} | {statistics.median(values):.1f} | {pct(values, 0.9):.1f} | "
                f"{pct(values, 0.99):.1f} | {max(values):.1f} |"
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", nargs="+", choices=["latency", "frames", "memory", "redraw"])
    parser.add_argument(
        "--baseline-ref", default="main", help="redraw: the git ref of the baseline screen.js"
    )
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=3.0, help="frames: length of one drag")
    parser.add_argument("--minutes", type=float, default=15.0, help="memory: how long")
    parser.add_argument("--every", type=float, default=60.0, help="memory: seconds between samples")
    parser.add_argument("--speed", type=float, default=60.0, help="memory: the demo clock's speed")
    parser.add_argument("--port", type=int, default=8812)
    args = parser.parse_args()
    if "latency" in args.what or "frames" in args.what:
        url, token, server = in_process_server(args.port)
        with sync_playwright() as p:
            browser = launch(p)
            page = open_screen(browser, url, token)
            if "latency" in args.what:
                got = latency(page, url, token, args.orders)
                table(
                    "Event to screen (ms, from just before the POST)",
                    {
                        "bare EventSource message (baseline)": got["bare"],
                        "feed line on the screen": got["feed"],
                        "figures re-read (open-order count)": got["figures"],
                    },
                    "ms",
                )
            if "frames" in args.what:
                got = frames(page, args.seconds)
                table("Frame time while panning the map (ms per frame)", got, "ms")
                for name, gaps in got.items():
                    print(
                        f"{name}: {1000 / statistics.median(gaps):.0f} fps median, "
                        f"{sum(g > 1000 / 30 for g in gaps) / len(gaps):.1%} of frames slower than 33 ms"
                    )
            browser.close()
        server.should_exit = True
    if "memory" in args.what:
        series_of = memory(args.minutes, args.every, args.speed, args.port + 1)
        print("\n### Memory after warm-up (the first 10 % of the run, at least one minute, left out)\n")
        print("| | after warm-up MiB | at the end MiB | max MiB | slope MiB/hour | DOM nodes (warm → end) |")
        print("|---|---|---|---|---|---|")
        for name, series in series_of.items():
            warm_at = max(1.0, 0.1 * series[-1][0])
            warm = [s for s in series if s[0] >= warm_at] or series[-1:]
            if len(warm) < 2:
                continue
            rate = slope([s[0] for s in warm], [s[1] for s in warm]) * 60
            nodes = f"{warm[0][2]} → {warm[-1][2]}" if name != "browser RSS" else "-"
            print(
                f"| {name} | {warm[0][1]:.1f} | {warm[-1][1]:.1f} | {max(s[1] for s in warm):.1f} "
                f"| {rate:+.2f} | {nodes} |"
            )
    if "redraw" in args.what:
        got = redraw(args.minutes, args.every, args.speed, args.port + 2, args.baseline_ref)
        print("\n### Renderer time and memory, side by side on one demo\n")
        print(
            "| | main thread s/min | script s/min | layout+style s/min | chart renders/min "
            "| heap slope MiB/min | heap MiB | DOM nodes |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, r in got.items():
            print(
                f"| {name} | {r['task_s_per_min']:.2f} | {r['script_s_per_min']:.2f} "
                f"| {r['layout_s_per_min']:.2f} | {r['renders_per_min']:.0f} "
                f"| {r['heap_slope_mib_per_min']:+.2f} | {r['heap_end_mib']:.1f} | {r['nodes_end']:.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
