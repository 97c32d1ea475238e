"""Address resolution (geocoding) on the demo street: hit rate, wrong areas, unresolved negatives, latency.

What it does
    Generates a fixed set of addresses of the demo street 静安寺街道 (JAS) from its places, with the truth
    (the expected area; for crossings on an area boundary, the set of areas that meet there), in the styles
    a hotline handler sees: exact, homophone typos (a pinyin input slip, drawn from pypinyin's dictionary
    among common GB2312 level-1 characters), missing 路, Chinese numerals (六百零八 and 六零八), full-width
    digits, 门口 / 附近 / 旁边 / 楼下, 对面 (across the road), room numbers, 上海市静安区 prefixes, lane only
    (愚园路608弄), crossings (A路近B路, A路B路路口, A路与B路交叉口), POI names and aliases, area names; plus
    addresses NOT in the street or that do not exist (other roads, door numbers out of the street's range,
    landmarks elsewhere, other districts), which must come back unresolved.

    Each address is resolved by the gazetteer (`ShapelyGazetteer.geocode`, a fresh one per run, so no
    answer is memoised) and, as a baseline in the same run, by the old lookup: exact match of the
    NFKC-normalised text on building addresses, POI addresses and POI names (a copy of its logic is below).

Scoring
    positive  one true area: hit if resolved to it, wrong if resolved elsewhere, miss if unresolved;
    boundary  a crossing where 2-4 areas meet: correct if unresolved with all of them among the
              candidates; wrong if resolved to an area that does not meet there;
    negative  correct if unresolved; wrong if resolved to anything.
    Wrong areas = wrong positives + wrong boundaries + resolved negatives (target 0). Hit rate target ≥ 95 %.

Run
    .venv/bin/python bench/geocode.py [--runs 3] [--json FILE] [--list FILE.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin, pinyin
from pypinyin.pinyin_dict import pinyin_dict
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import shape

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import med_range, percentile, table
from chengyun.adapters.gazetteer import ShapelyGazetteer
from chengyun.domain.places import Place, PlaceKind, places_from_geojson
from chengyun.sim import jingansi

SEED = 20_261_125
_CN_DIGITS = "零一二三四五六七八九"
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class Case:
    address: str
    style: str
    kind: str  # positive, boundary, negative
    areas: tuple[str, ...] = ()  # the truth: one area, or all that meet at a boundary crossing
    place: str | None = None  # the building or POI meant, where there is one


@dataclass
class Tally:
    hits: int = 0
    wrong: int = 0
    misses: int = 0
    boundary_ok: int = 0
    boundary_wrong: int = 0
    boundary_other: int = 0
    negatives_ok: int = 0
    negatives_wrong: int = 0
    latencies: list[float] = field(default_factory=list)
    wrong_examples: list[str] = field(default_factory=list)
    missed_styles: Counter[str] = field(default_factory=Counter)


# --- generating the addresses ----------------------------------------------------------------------------


def cn_formal(n: int) -> str:
    """608 → 六百零八, 1618 → 一千六百一十八, 12 → 十二."""
    if n == 0:
        return "零"
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += ("" if (d == 1 and unit == "十" and not out) else _CN_DIGITS[d]) + unit
    return out


def cn_digits(n: int) -> str:
    return "".join(_CN_DIGITS[int(c)] for c in str(n))


def _common_chars() -> dict[str, list[str]]:
    """Toneless reading → common characters (GB2312 level 1) with it, for homophone typos."""
    by_sound: dict[str, list[str]] = {}
    for code in sorted(pinyin_dict):
        char = chr(code)
        try:
            raw = char.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if len(raw) != 2 or not (0xB0 <= raw[0] <= 0xD7):
            continue
        # Its usual reading only: an input method offers a character for the sound it usually has.
        by_sound.setdefault(lazy_pinyin(char)[0], []).append(char)
    return by_sound


def homophone_typo(
    rng: random.Random, text: str, sounds: dict[str, list[str]], avoid: str = ""
) -> str | None:
    """`text` with one character (not in `avoid`) replaced by a common homophone."""
    positions = [i for i, c in enumerate(text) if "\u4e00" <= c <= "\u9fff" and c not in avoid]
    rng.shuffle(positions)
    for i in positions:
        reading = pinyin(text[i], style=Style.NORMAL)[0][0]
        options = [c for c in sounds.get(reading, []) if c != text[i]]
        if options:
            return text[:i] + rng.choice(options) + text[i + 1 :]
    return None


def generate() -> list[Case]:
    rng = random.Random(SEED)
    sounds = _common_chars()
    features = jingansi.places()["features"]
    props = [f["properties"] for f in features]
    shapes = {f["properties"]["code"]: shape(f["geometry"]) for f in features}
    areas = [p for p in props if p["kind"] == "area"]
    roads = {p["name"]: shapes[p["code"]] for p in props if p["kind"] == "road"}
    street = shapes[jingansi.STREET_CODE]

    def area_at(x: float, y: float) -> str | None:
        pt = ShapelyPoint(x, y)
        if not street.covers(pt):
            return None
        return next((a["code"] for a in areas if shapes[a["code"]].covers(pt)), None)

    cases: list[Case] = []
    buildings = [p for p in props if p["kind"] == "building"]
    singles = [b for b in buildings if b["lane"] is None]
    laned = [b for b in buildings if b["lane"] is not None]

    def add(address: str, style: str, b: dict[str, Any]) -> None:
        cases.append(Case(address, style, "positive", (b["area"],), b["code"]))

    for b in rng.sample(singles, 60) + rng.sample(laned, 40):
        road, number, lane, house = b["road"], int(b["number"]), b["lane"], b["house"]
        tail = f"{lane}弄{house}号" if lane else f"{number}号"
        style = rng.choice(
            [
                "exact",
                "typo",
                "no_road_suffix",
                "cn_formal",
                "cn_digits",
                "fullwidth",
                "qualifier",
                "room",
                "prefix",
            ]
        )
        if style == "exact":
            address = b["address"]
        elif style == "typo":
            typo = homophone_typo(rng, road[:-1], sounds)
            address = (typo or road[:-1]) + "路" + tail
        elif style == "no_road_suffix":
            address = road[:-1] + tail
        elif style in ("cn_formal", "cn_digits"):
            conv = cn_formal if style == "cn_formal" else cn_digits
            address = road + (f"{conv(int(lane))}弄{conv(int(house))}号" if lane else f"{conv(number)}号")
        elif style == "fullwidth":
            address = (road + tail).translate(_FULL)
        elif style == "qualifier":
            address = road + tail + rng.choice(["门口", "附近", "旁边", "楼下", "边上", "门前"])
        elif style == "room":
            address = road + tail + f"{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
        else:
            address = rng.choice(["上海市静安区", "静安区", "上海市"]) + road + tail
        add(address, style, b)

    # Across the road: the building's centre mirrored through the nearest point of its road.
    for b in rng.sample(singles, 20):
        line = roads[b["road"]]
        centre = shapes[b["code"]].centroid
        on = line.interpolate(line.project(centre))
        truth = area_at(2 * on.x - centre.x, 2 * on.y - centre.y)
        address = f"{b['address']}对面"
        if truth is None:
            cases.append(Case(address, "opposite", "negative"))
        else:
            cases.append(Case(address, "opposite", "positive", (truth,)))

    # Lanes alone, and as if the lane number were a door number.
    lanes = sorted({(b["road"], b["lane"], b["area"]) for b in laned})
    for road, lane, area in rng.sample(lanes, 25):
        style = rng.choice(["lane", "lane_as_number", "lane_cn"])
        written = {"lane": f"{road}{lane}弄", "lane_as_number": f"{road}{lane}号"}.get(
            style, f"{road}{cn_formal(int(lane))}弄"
        )
        cases.append(Case(written, style, "positive", (area,)))

    # Points of interest: names, aliases, homophone typos, with qualifiers.
    pois = [p for p in props if p["kind"] == "poi"]
    area_of = {p["code"]: p["parent"] for p in pois}
    for p in pois:
        truth = (area_of[p["code"]],)
        cases.append(Case(p["name"], "poi", "positive", truth, p["code"]))
        for alias in p.get("aliases") or []:
            cases.append(Case(alias, "poi_alias", "positive", truth, p["code"]))
        typo = homophone_typo(rng, p["name"], sounds)
        if typo:
            cases.append(Case(typo, "poi_typo", "positive", truth, p["code"]))
        cases.append(
            Case(p["name"] + rng.choice(["门口", "附近", "旁边", "东门"]), "poi_qualifier", "positive", truth)
        )

    # Areas by name.
    for a in areas:
        cases.append(Case(a["name"], "area", "positive", (a["code"],)))
        cases.append(Case(a["committee"], "area", "positive", (a["code"],)))

    # Crossings: every pair of roads that meet; the truth is every area within 8 m of the crossing.
    reach = 8.0 / 111_320.0
    names = sorted(roads)
    for i, a in enumerate(names):
        for b2 in names[i + 1 :]:
            meet = roads[a].intersection(roads[b2])
            if meet.is_empty or meet.geom_type != "Point":
                continue
            touching = tuple(sorted(x["code"] for x in areas if shapes[x["code"]].distance(meet) <= reach))
            first, second = (a, b2) if rng.random() < 0.5 else (b2, a)
            written = rng.choice(
                [
                    f"{first}近{second}",
                    f"{first}{second}路口",
                    f"{first}与{second}交叉口",
                    f"{first}{second[:-1]}路口",
                ]
            )
            kind = "positive" if len(touching) == 1 else "boundary"
            cases.append(Case(written, "crossing", kind, touching))

    # Negatives: not in the street, or no such place.
    negatives = [
        "南京东路100号",
        "南京东路步行街",
        "淮海中路999号",
        "常熟路100号",
        "长宁路1018号",
        "衡山路10号",
        "江西中路200号",
        "中山北路3000号",
        "延安西路1500号",
        "乌鲁木齐中路120号",
        "南京路1618号",
        "武康路100号",
        "康定路1000号",
        "威海路500号",
        "石门一路50号",
        "茂名北路200号",
        "南京西路88号",
        "南京西路999号",
        "愚园路1200号",
        "愚园路2号",
        "延安中路500号",
        "常德路2000号",
        "长乐路1号",
        "人民广场",
        "外滩",
        "东方明珠",
        "徐家汇",
        "中山公园",
        "静安雕塑公园",
        "静安体育中心",
        "静安别墅",
        "静安寺路100号",
        "长宁区愚园路1000号",
        "徐汇区华山路1954号",
        "黄浦区南京西路100号",
        "火星路1号",
        "不知道在哪里",
        "中心城区",
        "上海火车站",
        "虹桥机场",
        "静安区大宁路100号",
        "昌平路100号",
        "西康路9999号",
        "北京东路100号",
        "陕西南路200号",
    ]
    for text in negatives:
        cases.append(Case(text, "negative", "negative"))
    return cases


# --- the old lookup (baseline) ----------------------------------------------------------------------------


def old_normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s,，。.、:：;；\-—()（）]", "", text)


def old_lookup(places: list[Place]) -> Callable[[str], str | None]:
    """The exact-match lookup before this change: building and POI addresses and POI names; the area of
    the place's centre."""
    index: dict[str, Place] = {}
    areas = [(shape(p.geometry), p) for p in places if p.kind is PlaceKind.AREA]
    street = next(shape(p.geometry) for p in places if p.kind is PlaceKind.STREET)
    for place in places:
        if place.kind in (PlaceKind.BUILDING, PlaceKind.POI):
            for key in (place.props.get("address"), place.name if place.kind is PlaceKind.POI else None):
                if isinstance(key, str) and key:
                    index.setdefault(old_normalise(key), place)

    def lookup(address: str) -> str | None:
        place = index.get(old_normalise(address))
        if place is None:
            return None
        centre = shape(place.geometry).centroid
        if not street.covers(centre):
            return None
        return next((p.code for g, p in areas if g.covers(centre)), None)

    return lookup


# --- scoring ----------------------------------------------------------------------------------------------


def score(cases: list[Case], resolve: Callable[[str], tuple[str | None, set[str]]]) -> Tally:
    tally = Tally()
    for case in cases:
        started = time.perf_counter()
        area, candidate_areas = resolve(case.address)
        tally.latencies.append((time.perf_counter() - started) * 1000)
        if case.kind == "positive":
            if area == case.areas[0]:
                tally.hits += 1
            elif area is None:
                tally.misses += 1
                tally.missed_styles[case.style] += 1
            else:
                tally.wrong += 1
                tally.wrong_examples.append(f"{case.address} → {area} (expected {case.areas[0]})")
        elif case.kind == "boundary":
            if area is None and set(case.areas) <= candidate_areas:
                tally.boundary_ok += 1
            elif area is not None and area not in case.areas:
                tally.boundary_wrong += 1
                tally.wrong_examples.append(f"{case.address} → {area} (expected one of {case.areas})")
            else:
                tally.boundary_other += 1
        elif area is None:
            tally.negatives_ok += 1
        else:
            tally.negatives_wrong += 1
            tally.wrong_examples.append(f"{case.address} → {area} (not in the street)")
    return tally


def figures(cases: list[Case], tally: Tally) -> dict[str, float]:
    positives = sum(c.kind == "positive" for c in cases)
    negatives = sum(c.kind == "negative" for c in cases)
    boundary = sum(c.kind == "boundary" for c in cases)
    return {
        "hit_rate": tally.hits / positives,
        "wrong_areas": tally.wrong + tally.boundary_wrong + tally.negatives_wrong,
        "negatives_unresolved": tally.negatives_ok / negatives,
        "boundary_flagged": tally.boundary_ok / boundary if boundary else 1.0,
        "p50_ms": percentile(tally.latencies, 50),
        "p99_ms": percentile(tally.latencies, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--list", type=Path, help="write the generated addresses here (JSON lines)")
    args = parser.parse_args()

    cases = generate()
    if args.list:
        with args.list.open("w", encoding="utf-8") as f:
            for case in cases:
                f.write(json.dumps(asdict(case), ensure_ascii=False) + "\n")
    kinds = Counter(c.kind for c in cases)
    print(
        f"{len(cases)} addresses: {kinds['positive']} with one true area, {kinds['boundary']} crossings on "
        f"an area boundary, {kinds['negative']} not in the street ({kinds['negative'] / len(cases):.0%})"
    )
    places = places_from_geojson(jingansi.places(), jingansi.STREET_CODE)

    results: dict[str, list[dict[str, float]]] = {"geocode": [], "old exact": []}
    last: dict[str, Tally] = {}
    for run in range(args.runs):
        started = time.perf_counter()
        gazetteer = ShapelyGazetteer(places)
        build_ms = (time.perf_counter() - started) * 1000

        def new(address: str, g: ShapelyGazetteer = gazetteer) -> tuple[str | None, set[str]]:
            answer = g.geocode(address)
            area = answer.found.location.area if answer.found else None
            return area, {c.area for c in answer.candidates if c.area}

        old = old_lookup(places)

        def baseline(address: str, old: Callable[[str], str | None] = old) -> tuple[str | None, set[str]]:
            return old(address), set()

        for name, resolve in (("geocode", new), ("old exact", baseline)):
            tally = score(cases, resolve)
            results[name].append(figures(cases, tally) | {"build_ms": build_ms if name == "geocode" else 0.0})
            last[name] = tally
        print(f"run {run + 1}: geocode {results['geocode'][-1]}, built in {build_ms:.0f} ms", flush=True)

    rows = []
    for name, runs in results.items():

        def col(key: str, runs: list[dict[str, float]] = runs, scale: float = 1.0, digits: int = 1) -> str:
            return med_range([r[key] * scale for r in runs], digits)

        rows.append(
            [
                name,
                col("hit_rate", scale=100),
                col("wrong_areas", digits=0),
                col("negatives_unresolved", scale=100),
                col("boundary_flagged", scale=100),
                col("p50_ms", digits=3),
                col("p99_ms", digits=3),
            ]
        )
    header = [
        "lookup",
        "hit rate %",
        "wrong areas",
        "negatives unresolved %",
        "boundary flagged %",
        "p50 ms",
        "p99 ms",
    ]
    print()
    print(table(header, rows))
    tally = last["geocode"]
    print(f"\ngeocode misses by style: {dict(tally.missed_styles.most_common())}")
    by_style = Counter(c.style for c in cases)
    print(f"addresses by style: {dict(by_style.most_common())}")
    print(f"build: median {statistics.median(r['build_ms'] for r in results['geocode']):.0f} ms")
    for example in tally.wrong_examples:
        print("WRONG:", example)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
