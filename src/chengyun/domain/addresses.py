"""Chinese street addresses taken apart: road, door number (号), lane (弄) and house, intersections,
landmark names and qualifiers such as 门口 / 附近 / 对面.

Pure text work: no knowledge of any street. The gazetteer matches the parts against its places.

    >>> parse_address("愚园路六百零八弄6号门口")
    ParsedAddress(text='愚园路608弄6号', road='愚园路', number=608, lane=608, house=6, ...)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

# Where a place is relative to the named one; 对面 means across the road, the rest mean "at or next to it".
OPPOSITE = "对面"
QUALIFIERS = (
    "马路对面",
    "斜对面",
    "正对面",
    "对面",
    "附近",
    "周边",
    "周围",
    "一带",
    "门口",
    "门前",
    "大门口",
    "大门",
    "正门",
    "东门",
    "西门",
    "南门",
    "北门",
    "后门",
    "侧门",
    "旁边",
    "边上",
    "隔壁",
    "楼下",
    "楼前",
    "楼后",
    "后面",
    "前面",
    "门外",
    "外面",
    "里面",
    "东侧",
    "西侧",
    "南侧",
    "北侧",
    "出口",
    "入口",
    "处",
    "这里",
    "那里",
    "内",
    "边",
    "旁",
)
# Ways of writing "the crossing of A and B".
CROSSING_SUFFIXES = ("十字路口", "交叉路口", "交叉口", "交汇处", "交界处", "交口", "路口", "口")
CROSSING_JOINERS = ("靠近", "近", "与", "和", "跟", "同", "及", "、", "/", "x", "×")
ROAD_SUFFIXES = ("大道", "路", "街", "巷")
DIRECTIONS = frozenset("东西南北中")

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_DIGITS |= {"七": 7, "八": 8, "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7}
_DIGITS |= {"捌": 8, "玖": 9}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_NUMERAL = "".join(_DIGITS) + "".join(_UNITS)
# Chinese numerals count only where a number is expected: before 弄, 号, 支弄, 栋, 幢, 楼 or 室.
_CN_NUMBER = re.compile(f"[{_NUMERAL}]+(?=支弄|弄|号|栋|幢|楼|室)")
_VARIANTS = str.maketrans({"號": "号", "衖": "弄", "#": "号", "—": "-", "－": "-"})
_DROP = re.compile(r"[\s,，。.、:：;；\-()（）\[\]【】「」『』\"'“”‘’!！?？~～·]")

_ADMIN_PREFIX = re.compile(r"^(?:中国)?(?:上海市|上海)?(?P<district>[\u4e00-\u9fff]{2,3}(?<![小社园城])区)?")
_STREET_PREFIX = re.compile(r"^(?P<street>[^\d路街弄巷号与和近]{2,5}(?:街道|镇))")
_LANE = re.compile(
    r"^(?P<road>[^\d]*?)(?P<lane>\d{1,5})弄(?:(?P<branch>\d{1,4})支弄)?"
    r"(?:(?P<house>\d{1,4})(?:号楼|号|栋|幢|楼)?)?(?P<rest>.*)$"
)
_NUMBER = re.compile(r"^(?P<road>[^\d]*?)(?P<number>\d{1,5})(?:号楼|号|栋|幢)?(?P<rest>(?!\d).*)$")


@dataclass(frozen=True)
class ParsedAddress:
    text: str  # normalised, prefixes and qualifiers removed
    road: str | None = None  # the road as written (may lack 路, may hold a typo)
    number: int | None = None  # door number (号); for a lane, the lane's number
    lane: int | None = None  # 弄
    house: int | None = None  # 号 within the lane
    crossing: tuple[str, str] | None = None  # "A路近B路", "A路B路路口": both roads as written
    name: str | None = None  # no road and number: the whole text, maybe a landmark
    qualifier: str | None = None  # 门口, 附近, 对面, ...
    district: str | None = None  # 静安区, 徐汇区, ... when written
    street: str | None = None  # 静安寺街道, ... when written
    rest: str = ""  # what follows the number (room, floor, a shop name): not used to locate

    @property
    def opposite(self) -> bool:
        return self.qualifier is not None and "对面" in self.qualifier


def chinese_number(text: str) -> int | None:
    """'六百零八' → 608, '六零八' → 608, '十二' → 12, '两千' → 2000; None if it is not a number."""
    if not text or any(c not in _DIGITS and c not in _UNITS for c in text):
        return None
    if not any(c in _UNITS for c in text):
        return int("".join(str(_DIGITS[c]) for c in text))  # read digit by digit
    total = 0
    digit: int | None = None
    last_unit = 10_000
    for c in text:
        if c in _DIGITS:
            if digit is not None and _DIGITS[c] != 0:
                return None  # two digits in a row inside a unit number
            digit = _DIGITS[c] if _DIGITS[c] != 0 else None
        else:
            unit = _UNITS[c]
            if unit >= last_unit:
                return None  # '百百', '十百'
            total += (1 if digit is None else digit) * unit
            digit = None
            last_unit = unit
    return total + (digit or 0)


def normalise(text: str) -> str:
    """Half-width, no spaces or punctuation, Arabic digits: 愚园路 ６０８ 弄六号 → 愚园路608弄6号."""
    text = unicodedata.normalize("NFKC", text).translate(_VARIANTS).lower()
    text = _DROP.sub("", text)

    def digits(match: re.Match[str]) -> str:
        value = chinese_number(match.group(0))
        return match.group(0) if value is None else str(value)

    return _CN_NUMBER.sub(digits, text)


def strip_qualifiers(text: str) -> tuple[str, str | None]:
    """Remove trailing qualifiers ('门口', '附近', '对面', ...; several in a row); return what is left and
    the qualifiers, outermost last."""
    found: list[str] = []
    changed = True
    while changed and text:
        changed = False
        for q in QUALIFIERS:
            if text.endswith(q) and len(text) > len(q):
                text = text[: -len(q)]
                for particle in ("的", "在"):
                    text = text.removesuffix(particle)
                found.insert(0, q)
                changed = True
                break
    return text, ("".join(found) or None)


def split_crossing(text: str) -> tuple[str, str] | None:
    """'常德路近南京西路', '南京西路华山路口', '常德路与南京西路交叉口' → both roads as written."""
    core = text
    suffix = next((s for s in CROSSING_SUFFIXES if core.endswith(s) and len(core) > len(s) + 2), None)
    if suffix is not None:
        core = core[: -len(suffix)]
    for joiner in CROSSING_JOINERS:
        left, sep, right = core.partition(joiner)
        if sep and len(left) >= 2 and len(right) >= 2 and not _has_digit(left + right):
            return left, right
    if suffix is None:
        return None
    # No joiner: 'A路B路' (the suffix may have eaten B's 路, as in '南京西路华山路口').
    for road_suffix in ROAD_SUFFIXES:
        at = core.find(road_suffix)
        if at >= 1:
            left, right = core[: at + len(road_suffix)], core[at + len(road_suffix) :]
            if len(right) >= 2 and not _has_digit(left + right):
                return left, right
    return None


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def parse_address(text: str) -> ParsedAddress:
    """Take an address apart; parts that are not there stay None."""
    text = normalise(text)
    district = street = None
    head = _ADMIN_PREFIX.match(text)
    if head and head.group(0) and len(text) > len(head.group(0)):
        district = head.group("district")
        text = text[len(head.group(0)) :]
    named = _STREET_PREFIX.match(text)
    if named and len(text) > len(named.group(0)) + 1:
        street = named.group("street")
        text = text[len(street) :]
    text, qualifier = strip_qualifiers(text)
    found = ParsedAddress(text, district=district, street=street, qualifier=qualifier)

    lane = _LANE.match(text)
    if lane:
        house = lane.group("house")
        number = int(lane.group("lane"))
        return replace(
            found,
            road=lane.group("road") or None,
            number=number,
            lane=number,
            house=int(house) if house else None,
            rest=lane.group("rest"),
        )
    door = _NUMBER.match(text)
    if door and door.group("road"):
        return replace(
            found, road=door.group("road"), number=int(door.group("number")), rest=door.group("rest")
        )
    crossing = split_crossing(text)
    if crossing is not None:
        return replace(found, crossing=crossing)
    return replace(found, name=text or None)


def road_stem(name: str) -> str:
    """'愚园路' → '愚园', '乌鲁木齐北路' → '乌鲁木齐北'; a name without a road suffix stays as it is."""
    for suffix in ROAD_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def directions(name: str) -> str:
    """The direction part of a road name ('南京西路' → '西', '西康路' → ''): roads differing in it are
    different roads (南京西路 and 南京东路), never one road's typo. In Shanghai's names it comes last."""
    stem = road_stem(name)
    return stem[-1] if len(stem) >= 3 and stem[-1] in DIRECTIONS else ""
