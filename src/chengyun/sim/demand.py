"""What a day of the demo street asks of its center: hotline calls, app reports, patrol and drone findings.

Pure and deterministic: `day_script(seed, start, hours, load)` lists every report of the run with its
time, source, the words a caller uses and the address they give (or the position a patrol app sends),
and what the simulator knows and the center must find out (the true category and area).

The shape (documented, not fitted to any figure):
* Hotline calls follow a two-peak working day (mid-morning and mid-afternoon), low at night; the
  `usual` volumes below are a busy central street's plausible day, `load` multiplies them.
* Delivery e-bikes on the pavement around office towers, malls and metro exits at the lunch and dinner
  peaks (the seed's 顽症); noise complaints in the evening; street lights out after dusk; on a rainy day
  (about one day in three, by seed) a few hours of rain and waterlogging complaints from its second hour.
* Patrol observers on shift walk the roads and report what they see with their phone's position; two
  drone flights a day over the historic zone report from the air.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from chengyun.domain.geo import Point
from chengyun.sim import jingansi

# Reports per day at load 1 (sensor alarms come on top, from the sensors themselves).
USUAL_PER_DAY: Mapping[str, float] = {"hotline": 96.0, "citizen_app": 14.0, "patrol": 36.0, "drone": 6.0}

# 12345 calls by hour of the day (Beijing time), relative.
HOTLINE_HOURS = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4.5, 6.5, 7.0, 6.0,
    5.0, 5.5, 6.0, 6.0, 5.5, 5.0, 4.5, 4.5, 4.5, 4.0, 3.0, 1.8,
)  # fmt: skip
PATROL_HOURS = (8, 22)  # patrol observers' shifts (jingansi._PATROL_SHIFTS) cover 08:00–22:00
DRONE_FLIGHTS = ((10, 0), (15, 30))  # take-off times, each flight 40 minutes

SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"

# Hotline matters: (code, weight, hours it leans to as (centre, width, boost) or None, where, phrasings).
# `where` picks the address: "home" a residential building, "busy" an office tower, mall or metro,
# "any" any building or landmark. {a} is the address the caller gives.
_Matter = tuple[str, float, tuple[float, float, float] | None, str, tuple[str, ...]]
HOTLINE_MATTERS: tuple[_Matter, ...] = (
    (
        "050104",
        7.0,
        None,
        "busy",
        (
            "{a}门口外卖电瓶车停满人行道，轮椅和婴儿车都过不去",
            "中午{a}楼下电动车乱停，行人只能走到马路上",
            "{a}附近送外卖的电动自行车把盲道全占了",
            "{a}人行道上非机动车乱停放，每天饭点都这样",
        ),
    ),
    (
        "200101",
        5.0,
        None,
        "any",
        (
            "{a}门口人行道大理石地砖翘起，晚上路过差点绊倒",
            "{a}附近人行道板松动，踩上去会晃，老人容易摔",
            "{a}旁边人行道地砖碎了好几块，希望尽快修",
        ),
    ),
    (
        "900101",
        5.0,
        (21.0, 2.0, 6.0),
        "home",
        (
            "{a}楼上晚上十点以后还在装修，电钻声很吵",
            "{a}附近酒吧音乐太响，半夜都睡不着",
            "{a}楼下有人深夜大声喧哗，影响休息",
            "{a}隔壁空调外机噪音很大，晚上吵得不行",
        ),
    ),
    (
        "010101",
        4.0,
        None,
        "any",
        (
            "{a}路边有暴露垃圾，已经堆了一天没人清",
            "{a}弄堂口垃圾袋散落一地，很臭",
            "{a}门口有人乱扔垃圾，堆成一堆",
        ),
    ),
    (
        "100118",
        3.0,
        (20.0, 2.5, 5.0),
        "any",
        (
            "{a}门口路灯不亮好几天了，晚上很黑",
            "{a}附近一排路灯晚上都不亮，走路不安全",
            "{a}旁边的路灯一闪一闪的，坏了",
        ),
    ),
    (
        "900102",
        3.0,
        None,
        "home",
        (
            "{a}顶楼下雨天渗水，墙面都发霉了",
            "{a}楼上卫生间漏水，滴到我家天花板",
            "{a}外墙渗水，家里墙面潮湿",
        ),
    ),
    (
        "100101",
        2.0,
        None,
        "any",
        (
            "{a}门前上水井盖松动，车开过去哐哐响",
            "{a}人行道上井盖缺了一角，怕有人踩空",
        ),
    ),
    (
        "050102",
        2.0,
        (11.0, 3.0, 1.0),
        "busy",
        (
            "{a}商铺店外经营，货架摆到人行道上",
            "{a}门口小店占道摆摊，行人走不过去",
        ),
    ),
    (
        "900106",
        2.0,
        (20.0, 3.0, 2.0),
        "home",
        (
            "{a}楼道里有人飞线给电瓶车充电，很危险",
            "{a}有人从窗口拉电线下来给电动车充电",
        ),
    ),
    (
        "400101",
        1.5,
        None,
        "any",
        (
            "{a}行道树枝条压到电线，刮风很危险",
            "{a}门口的树歪了，好像要倒",
        ),
    ),
    (
        "020101",
        1.0,
        None,
        "any",
        (
            "{a}电线杆上贴满小广告，很难看",
            "{a}墙上到处是乱贴的小广告",
        ),
    ),
)
RAIN_MATTER: _Matter = (
    "040104",
    0.0,
    None,
    "any",
    (
        "{a}门口路面积水很深，行人过不去",
        "下大雨{a}附近马路积水，车开过去水溅到人行道上",
        "{a}弄堂里积水没过脚踝，雨水口好像堵了",
    ),
)

# What patrol observers and drones find, with weights: they choose the category in their app.
_Finding = tuple[str, float, str]
PATROL_FINDINGS: tuple[_Finding, ...] = (
    ("010101", 5.0, "巡查发现路边暴露垃圾，需清运"),
    ("050102", 4.0, "巡查发现沿街商铺店外经营，占用人行道"),
    ("050104", 4.0, "巡查发现人行道非机动车乱停放，需整理"),
    ("020101", 3.0, "巡查发现乱张贴小广告，需清除"),
    ("100101", 2.0, "巡查发现井盖破损松动，存在安全隐患"),
    ("200101", 2.0, "巡查发现人行道板破损翘起"),
    ("400101", 1.0, "巡查发现行道树枝条下垂影响通行"),
)
DRONE_FINDINGS: tuple[_Finding, ...] = (
    ("400101", 2.0, "无人机巡查发现行道树枝条搭压架空线"),
    ("010101", 2.0, "无人机巡查发现屋顶平台堆放垃圾杂物"),
    ("900199", 1.0, "无人机巡查发现历史建筑屋面瓦片缺损，需现场核查"),
)

_OPENERS = ("", "", "您好，", "你好，我要反映一下，", "市民来电反映：", "我是附近居民，", "麻烦你们管一下，")
_CLOSERS = (
    "",
    "",
    "请尽快处理。",
    "希望有人来看看。",
    "谢谢！",
    "已经反映过一次了，还没解决。",
    "麻烦尽快。",
)


@dataclass(frozen=True)
class Report:
    """One report of the run, as it reaches the center, and the truth the simulator keeps."""

    no: int
    at: datetime
    source: str  # Source value
    text: str
    category: str  # the true category (a hotline call comes without one: intake classifies it)
    area: str  # the true residential area
    point: Point  # the true place
    address: str | None = None  # what a caller says (hotline, app)
    position: Point | None = None  # what a patrol app or a drone sends
    caller: tuple[str, str] | None = None  # (name, phone) of a complainant


@dataclass(frozen=True)
class Rain:
    start: datetime
    hours: float


@dataclass(frozen=True)
class _Spot:
    address: str
    area: str
    point: Point
    kind: str  # residential, office, ..., or a POI kind


@lru_cache(maxsize=1)
def _spots() -> tuple[tuple[_Spot, ...], tuple[tuple[str, tuple[Point, ...]], ...], tuple[Point, ...]]:
    """Addresses people give (buildings and landmarks), roads (for patrols) and the historic zone's
    buildings (for drones)."""
    spots: list[_Spot] = []
    roads: list[tuple[str, tuple[Point, ...]]] = []
    historic: list[Point] = []
    features = jingansi.places()["features"]
    for f in features:
        p = f["properties"]
        geometry = f["geometry"]
        if p["kind"] == "building":
            point = _centre(geometry)
            spots.append(_Spot(p["address"], p["area"], point, p.get("use", "residential")))
            if p.get("historic"):
                historic.append(point)
        elif p["kind"] == "poi" and p.get("parent", "").startswith(jingansi.STREET_CODE + "-A"):
            area = "-".join(p["parent"].split("-")[:2])
            spots.append(_Spot(p["name"], area, _centre(geometry), p.get("poi_kind", "poi")))
        elif p["kind"] == "road":
            line = geometry["coordinates"]
            roads.append((p["name"], tuple(Point(c[0], c[1]) for c in line)))
    return tuple(spots), tuple(roads), tuple(historic)


def _centre(geometry: Mapping[str, Any]) -> Point:
    if geometry["type"] == "Point":
        return Point(*geometry["coordinates"][:2])
    ring = geometry["coordinates"][0][:-1]
    return Point(sum(c[0] for c in ring) / len(ring), sum(c[1] for c in ring) / len(ring))


def rain_of(seed: int, start: datetime) -> Rain | None:
    """About one day in three has a rain spell of 2–4 hours, starting between 06:00 and 18:00."""
    rng = random.Random(f"rain:{seed}:{start.date().isoformat()}")
    if rng.random() >= 0.35:
        return None
    local = start.astimezone(jingansi.CST)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return Rain(midnight + timedelta(hours=rng.uniform(6, 18)), rng.uniform(2, 4))


def _hour_of(at: datetime) -> float:
    local = at.astimezone(jingansi.CST)
    return local.hour + local.minute / 60 + local.second / 3600


def _bump(h: float, centre: float, width: float) -> float:
    d = min(abs(h - centre), 24 - abs(h - centre)) / width
    return math.exp(-0.5 * d * d)


def _meal_peak(h: float) -> float:
    return 6.0 * (_bump(h, 12.2, 0.7) + 0.8 * _bump(h, 18.3, 0.8))


def _matter_weights(h: float, raining: bool, after_rain: bool) -> list[float]:
    weights = []
    for code, weight, lean, _, _ in HOTLINE_MATTERS:
        w = weight
        if code == "050104":
            w *= 0.3 + _meal_peak(h)
        elif lean is not None:
            centre, width, boost = lean
            w *= 1.0 + boost * _bump(h, centre, width)
        weights.append(w)
    weights.append(12.0 if raining else 6.0 if after_rain else 0.0)  # waterlogging
    return weights


def _poisson_times(rng: random.Random, start: datetime, end: datetime, rate_per_hour: Any) -> list[datetime]:
    """Arrival times of a Poisson process whose rate (per hour) may change with the hour (thinning)."""
    peak = max(rate_per_hour(h / 4) for h in range(96)) or 0.0
    if peak <= 0:
        return []
    out: list[datetime] = []
    t = start
    while True:
        t += timedelta(hours=rng.expovariate(peak))
        if t >= end:
            return out
        if rng.random() * peak <= rate_per_hour(_hour_of(t)):
            out.append(t)


def _hotline_rate(load: float, source: str) -> Any:
    total = sum(HOTLINE_HOURS)
    per_day = USUAL_PER_DAY[source] * load

    def rate(h: float) -> float:
        return per_day * HOTLINE_HOURS[int(h) % 24] / total

    return rate


def day_script(
    seed: int, start: datetime, hours: float, load: float = 1.0
) -> tuple[list[Report], Rain | None]:
    """Every report of [start, start + hours) in time order, and the rain spell if there is one."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    end = start + timedelta(hours=hours)
    rng = random.Random(f"demand:{seed}:{start.isoformat()}")
    spots, roads, historic = _spots()
    rain = rain_of(seed, start)
    reports: list[tuple[datetime, str, int]] = []
    for source in ("hotline", "citizen_app"):
        reports += [
            (t, source, k) for k, t in enumerate(_poisson_times(rng, start, end, _hotline_rate(load, source)))
        ]
    patrol_rate = USUAL_PER_DAY["patrol"] * load / (PATROL_HOURS[1] - PATROL_HOURS[0])
    reports += [
        (t, "patrol", k)
        for k, t in enumerate(
            _poisson_times(
                rng, start, end, lambda h: patrol_rate if PATROL_HOURS[0] <= h < PATROL_HOURS[1] else 0.0
            )
        )
    ]
    per_flight = USUAL_PER_DAY["drone"] * load / len(DRONE_FLIGHTS)
    day = start.astimezone(jingansi.CST).replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        for hh, mm in DRONE_FLIGHTS:
            take_off = day + timedelta(hours=hh, minutes=mm)
            count = _poisson_count(rng, per_flight)
            for k in range(count):
                t = take_off + timedelta(minutes=rng.uniform(5, 40))
                if start <= t < end:
                    reports.append((t, "drone", k))
        day += timedelta(days=1)
    reports.sort(key=lambda r: (r[0], r[1], r[2]))

    out: list[Report] = []
    for no, (at, source, _) in enumerate(reports, start=1):
        one = random.Random(f"report:{seed}:{start.isoformat()}:{no}:{source}")
        if source in ("hotline", "citizen_app"):
            out.append(_call(one, no, at, source, spots, rain))
        elif source == "patrol":
            out.append(_finding(one, no, at, "patrol", PATROL_FINDINGS, _on_road(one, roads), spots))
        else:
            out.append(_finding(one, no, at, "drone", DRONE_FINDINGS, one.choice(historic), spots))
    return out, rain


def _poisson_count(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _call(
    rng: random.Random, no: int, at: datetime, source: str, spots: Sequence[_Spot], rain: Rain | None
) -> Report:
    h = _hour_of(at)
    raining = rain is not None and rain.start <= at < rain.start + timedelta(hours=rain.hours)
    after = rain is not None and rain.start + timedelta(hours=rain.hours) <= at < rain.start + timedelta(
        hours=rain.hours + 3
    )
    matters = [*HOTLINE_MATTERS, RAIN_MATTER]
    code, _, _, where, phrasings = rng.choices(matters, _matter_weights(h, raining, after))[0]
    if where == "busy":
        pool = [s for s in spots if s.kind in ("office_tower", "mall", "metro", "office", "commercial")]
    elif where == "home":
        pool = [s for s in spots if s.kind in ("residential", "mixed")]
    else:
        pool = list(spots)
    spot = rng.choice(pool)
    address = spot.address
    text = rng.choice(_OPENERS) + rng.choice(phrasings).format(a=address) + "，" + rng.choice(_CLOSERS)
    caller = (
        rng.choice(SURNAMES) + rng.choice(("先生", "女士")),
        "13" + "".join(rng.choices("0123456789", k=9)),
    )
    return Report(
        no, at, source, text.rstrip("，"), code, spot.area, spot.point, address=address, caller=caller
    )


def _on_road(rng: random.Random, roads: Sequence[tuple[str, tuple[Point, ...]]]) -> Point:
    """A point on a road of the street: where a patrol observer stands when they see something."""
    _, line = rng.choice(roads)
    k = rng.randrange(len(line) - 1)
    a, b = line[k], line[k + 1]
    f = rng.random()
    return Point(a.lon + f * (b.lon - a.lon), a.lat + f * (b.lat - a.lat))


def _finding(
    rng: random.Random,
    no: int,
    at: datetime,
    source: str,
    findings: Sequence[_Finding],
    near: Point,
    spots: Sequence[_Spot],
) -> Report:
    code, _, text = rng.choices(findings, [f[1] for f in findings])[0]
    # Seen from the road: the nearest building front is where the problem is; the app sends that spot.
    spot = min(spots, key=lambda s: abs(s.point.lon - near.lon) + abs(s.point.lat - near.lat))
    return Report(
        no, at, source, f"{text}（{spot.address}）", code, spot.area, spot.point, position=spot.point
    )
