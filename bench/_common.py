"""Helpers the benchmarks share: throwaway databases, memory readings, simple statistics, progress lines."""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from chengyun.adapters.db.engine import make_engine

POSTGRES_ENV = "CHENGYUN_TEST_DATABASE_URL"

# Descriptions as callers of the 12345 hotline put them; {addr} is a real address of the demo street.
# (category, texts): the categories are codes of the built-in catalogue.
TEXTS: list[tuple[str, list[str]]] = [
    (
        "200101",
        [
            "{addr}门口人行道地砖翘起，晚上路过差点绊倒，请尽快修一下",
            "{addr}附近人行道板松动，走上去会晃，老人小孩容易摔",
            "{addr}前面的盲道砖碎了好几块，希望尽快更换",
        ],
    ),
    (
        "050104",
        [
            "{addr}门口外卖电瓶车停满人行道，推轮椅过不去",
            "中午{addr}楼下电动车乱停，行人只能走到马路上",
            "{addr}门前共享单车堆了几十辆，把消防通道堵住了",
        ],
    ),
    (
        "900101",
        [
            "{addr}楼上晚上十点以后还在装修，电钻声音很大，影响休息",
            "{addr}附近酒吧音乐太吵，凌晨一点还没停",
            "{addr}早上六点就有施工敲打声，周末也不停",
        ],
    ),
    ("010101", ["{addr}路边有暴露垃圾，已经堆了一天没人清", "{addr}弄堂口垃圾袋散落，有异味"]),
    ("100118", ["{addr}门口路灯不亮好几天了，晚上很黑", "{addr}附近一排路灯晚上不亮，走路不安全"]),
    ("100101", ["{addr}门前上水井盖松动，车开过去哐哐响", "{addr}人行道上井盖缺了一个角，怕有人踩空"]),
    ("900102", ["{addr}顶楼下雨天渗水，墙面发霉", "{addr}楼上卫生间漏水到我家天花板，物业不管"]),
    ("050102", ["{addr}商铺店外经营，货架摆到人行道上", "{addr}水果店把摊位摆到门外，占了半条人行道"]),
    ("020101", ["{addr}电线杆上贴满小广告，撕了又贴", "{addr}门口墙上被人喷涂了办证电话"]),
    ("040104", ["{addr}门口路面积水很深，行人过不去", "下雨后{addr}前面积水一直不退，请疏通下水道"]),
    ("900106", ["{addr}楼道里有人飞线给电瓶车充电，很危险", "{addr}有住户把电瓶车推进电梯上楼充电"]),
]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"


def postgres_base_url(given: str | None) -> str | None:
    """The PostgreSQL server to use: `--postgres URL`, else CHENGYUN_TEST_DATABASE_URL, else none."""
    return given or os.environ.get(POSTGRES_ENV) or None


def with_search_path(url: str, schema: str) -> str:
    """`url` with every session confined to `schema` (libpq `options`), as tests/conftest.py does."""
    parsed = make_url(url)
    options = f"{parsed.query.get('options', '')} -csearch_path={schema}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


@contextmanager
def temp_database(backend: str, postgres_url: str | None) -> Iterator[str]:
    """The URL of an empty database, removed afterwards: a SQLite file in a temporary directory, or a
    schema of its own on the PostgreSQL server (dropped with CASCADE)."""
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="chengyun-bench-"))
        try:
            yield f"sqlite:///{directory / 'bench.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if postgres_url is None:
        raise SystemExit(f"PostgreSQL needs --postgres URL or {POSTGRES_ENV}")
    schema = f"bench_{secrets.token_hex(5)}"
    admin = make_engine(postgres_url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        try:
            yield with_search_path(postgres_url, schema)
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        admin.dispose()


def proc_memory_mb(pid: int | None = None) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc/PID/status (VmRSS, VmHWM)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    status = Path(f"/proc/{pid or os.getpid()}/status")
    for line in status.read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in values:
            values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, the /proc/PID/stat fields after the name) of every process alive now."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        yield int(entry.name), name, stat[stat.rindex(")") + 2 :].split()


def _tree(pid: int) -> dict[int, list[str]]:
    """A process and its descendants alive now (a server's worker processes, say): pid -> the stat
    fields after the name, from one walk over /proc."""
    stats: dict[int, list[str]] = {}
    children: dict[int, list[int]] = {}
    for child, _, fields in _processes():
        stats[child] = fields
        children.setdefault(int(fields[1]), []).append(child)
    tree: dict[int, list[str]] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            tree[current] = stats[current]
        todo.extend(children.get(current, ()))
    return tree


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants."""
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in _tree(pid).values())  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, sum of the peak RSSes) of a process and its live descendants, in MiB."""
    now = peak = 0.0
    for member in _tree(pid):
        try:
            rss, hwm = proc_memory_mb(member)
        except OSError:
            continue
        now, peak = now + rss, peak + hwm
    return now, peak


def postgres_cpu_s() -> float:
    """CPU seconds used so far by this machine's PostgreSQL processes (a local server only; 0 when
    there is none), the backends that ended included (the postmaster's children's time)."""
    ticks = sum(
        sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        for _, name, fields in _processes()
        if name.startswith("postgres")
    )
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def med_range(values: Sequence[float], digits: int = 1) -> str:
    """'median (min–max)' of repeated measurements; just the value when there is one."""
    if not values:
        return "-"
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def progress(text: str, *, done: bool = False) -> None:
    """A progress line rewritten in place on a terminal; plain lines when output is redirected."""
    if sys.stdout.isatty():
        sys.stdout.write("\r\033[K" + text + ("\n" if done else ""))
    else:
        sys.stdout.write(text + "\n")
    sys.stdout.flush()


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (pastes straight into bench/README.md)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    for row in rows:
        lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)
