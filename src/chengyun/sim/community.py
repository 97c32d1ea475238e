"""The demo street's community programs (静安寺街道), loaded through the same CSV importers and services
operators and residents use.

From the seed: the 静·邻一家 convenience market with its menu of 10 service series, held at the street's
party-mass service center and stations on the first week's Thursday of every month (building stations also
weekly at lunchtime); 10+ volunteer projects of organisations in the street; a job fair of 40+ local
employers with about 200 posts and special areas for women, graduates and veterans; old-housing renovation
projects ("美好社区，先锋行动") with their inner and outer circles; the four-level party-building grid.

Organisation names, people, phone numbers and figures are invented; some public bodies carry plausible
names (静安区中心医院, 静安寺街道社区卫生服务中心 are landmarks of the demo street). Past sessions come
from paper registers (the bookings, volunteer-hours and applications imports); the coming ones are booked
through the residents' own service calls, with every limit applied.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from chengyun.domain.access import Actor, Role
from chengyun.domain.calendar import SHANGHAI, local_date
from chengyun.domain.community.market import DEFAULT_RULE, BookingMode, Market
from chengyun.domain.errors import DomainError
from chengyun.services.community.imports import COLUMNS, ImportKind
from chengyun.services.community.service import Community
from chengyun.services.directory import write_csv
from chengyun.sim import jingansi
from chengyun.sim.jingansi import GIVEN, SURNAMES

STREET = jingansi.STREET_CODE
LOADER = Actor(Role.ADMIN, frozenset(), None, "演示数据", "demo-community")
FIRST_DAY = date(2024, 1, 4)  # the markets' first session (a first Thursday)
_SEED = 8_2023
Row = dict[str, str]


# --- organisations ------------------------------------------------------------------------------------

# Public bodies and service providers: code, name, sector, address.
_PROVIDERS = (
    ("hosp", "静安区中心医院", "健康护理", "西康路259号"),
    ("chc", "静安寺街道社区卫生服务中心", "健康护理", "江苏路480号"),
    ("amr", "静安寺市场监督管理所", "公共服务", "愚园路330号"),
    ("affairs", "静安寺街道社区事务受理服务中心", "公共服务", "常德路370号"),
    ("talent", "静安区人才服务中心", "公共服务", "南京西路1515号"),
    ("jobs", "静安区就业促进中心", "公共服务", "南京西路1600号"),
    ("culture", "静安寺街道社区文化活动中心", "文化创意", "愚园路136号"),
    ("repair", "静安寺街道“老伙伴”便民维修队", "社会组织", "镇宁路405号"),
    ("barber", "静安寺街道巧手理发志愿服务队", "社会组织", "胶州路340号"),
    ("lunch", "静安商圈白领午餐联盟", "餐饮服务", "南京西路1539号"),
    ("law", "上海愚园律师事务所", "专业服务", "愚园路548号"),
    ("youth", "静安寺街道青年志愿者协会", "社会组织", "常德路370号"),
    ("redcross", "静安区红十字会静安寺街道分会", "社会组织", "江苏路480号"),
    ("waste", "静安寺街道绿色账户服务站", "社会组织", "华山路150号"),
)
# Local employers for the job fair (invented): name stem, sector, what they hire.
_SECTOR_POSTS = {
    "专业服务": (
        ("审计助理", "graduates"),
        ("行政助理", "women"),
        ("人力资源专员", "general"),
        ("法务助理", "graduates"),
        ("前台接待", "women"),
        ("项目专员", "veterans"),
    ),
    "文化创意": (
        ("平面设计师", "graduates"),
        ("新媒体运营", "graduates"),
        ("展陈讲解员", "women"),
        ("活动策划", "general"),
        ("视频剪辑师", "graduates"),
        ("文创店员", "women"),
    ),
    "商务商贸": (
        ("门店店长", "general"),
        ("导购员", "women"),
        ("客户经理", "general"),
        ("仓储主管", "veterans"),
        ("收银员", "women"),
        ("电商运营", "graduates"),
    ),
    "健康护理": (
        ("护理员", "women"),
        ("康复治疗师", "general"),
        ("药房营业员", "women"),
        ("健康管理师", "graduates"),
        ("护士", "women"),
        ("后勤主管", "veterans"),
    ),
    "物业管理": (
        ("安保主管", "veterans"),
        ("工程维修员", "veterans"),
        ("客服专员", "women"),
        ("保洁领班", "general"),
        ("秩序维护员", "veterans"),
        ("物业管家", "graduates"),
    ),
    "信息技术": (
        ("软件测试工程师", "graduates"),
        ("网络运维工程师", "veterans"),
        ("产品助理", "graduates"),
        ("客服专员", "women"),
        ("数据标注员", "general"),
        ("网络安全工程师", "veterans"),
    ),
    "餐饮服务": (
        ("厨师", "general"),
        ("餐厅主管", "general"),
        ("外卖骑手站长", "veterans"),
        ("收银员", "women"),
        ("面点师", "general"),
        ("门店领班", "women"),
    ),
}
_EMPLOYER_STEMS = (
    "嘉里",
    "愚园",
    "常德",
    "华山",
    "胶州",
    "万航",
    "新闸",
    "延安",
    "镇宁",
    "景华",
    "富民",
    "百乐",
    "梧桐",
    "静鼎",
)
_SUFFIX = {
    "专业服务": "咨询有限公司",
    "文化创意": "文化传播有限公司",
    "商务商贸": "商贸有限公司",
    "健康护理": "护理院",
    "物业管理": "物业管理有限公司",
    "信息技术": "信息科技有限公司",
    "餐饮服务": "餐饮管理有限公司",
}
_SALARY = ("5000-7000元/月", "6000-8000元/月", "7000-10000元/月", "8000-12000元/月", "面议")


def _employers() -> list[tuple[str, str, str]]:
    """42 employers: (code, name, sector), six sectors' worth of the stems."""
    out = []
    sectors = list(_SECTOR_POSTS)
    for n in range(42):
        sector = sectors[n % len(sectors)]
        stem = _EMPLOYER_STEMS[n % len(_EMPLOYER_STEMS)]
        out.append((f"emp{n + 1:02d}", f"上海{stem}{_SUFFIX[sector]}", sector))
    return out


def orgs() -> list[Row]:
    rows = [
        {"code": c, "name": n, "sector": s, "contact": "", "phone": "", "address": a}
        for c, n, s, a in _PROVIDERS
    ]
    rows += [
        {"code": c, "name": n, "sector": s, "contact": "", "phone": "", "address": ""}
        for c, n, s in _employers()
    ]
    return rows


# --- the market -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    code: str
    name: str
    zone: str
    org: str
    mode: BookingMode
    capacity: int
    minutes: int
    topics: tuple[str, ...]


_MENU = (
    _Series(
        "doctor", "名医坐堂", "健康养生", "hosp", BookingMode.SLOT, 2, 20,
        ("高血压", "糖尿病", "骨关节", "睡眠", "用药安全"),
    ),
    _Series("pressure", "量血压", "健康养生", "chc", BookingMode.QUEUE, 60, 0, ()),
    _Series(
        "repair", "小修小补", "便民惠民", "repair", BookingMode.QUEUE, 30, 0,
        ("小家电", "雨伞", "钟表", "眼镜"),
    ),
    _Series("barber", "理发磨刀", "便民惠民", "barber", BookingMode.QUEUE, 40, 0, ("理发", "磨刀")),
    _Series(
        "policy", "政策咨询", "便民惠民", "affairs", BookingMode.SLOT, 3, 15,
        ("加装电梯", "养老服务", "医保报销", "旧住房改造", "租房补贴"),
    ),
    _Series(
        "consumer", "市场监管咨询", "便民惠民", "amr", BookingMode.QUEUE, 50, 0,
        ("加装电梯", "用药安全", "食品安全", "消费保障"),
    ),
    _Series(
        "clubs", "社团招募", "乐享生活", "culture", BookingMode.QUEUE, 50, 0, ("合唱", "书画", "太极", "摄影")
    ),
    _Series("flat", "人才公寓接洽", "现场招聘", "talent", BookingMode.SLOT, 2, 20, ("申请条件", "租金补贴")),
    _Series("lunch", "白领午餐卡办理", "乐享生活", "lunch", BookingMode.QUEUE, 100, 0, ()),
    _Series(
        "career", "就业创业指导", "现场招聘", "jobs", BookingMode.SLOT, 2, 30,
        ("简历指导", "创业贷款", "劳资问题", "技能培训"),
    ),
)  # fmt: skip
_AREA_STALLS = ("doctor", "pressure", "repair", "barber", "policy", "consumer")
_BUILDING_STALLS = ("lunch", "policy", "flat", "career")
# Building and park stations: name, the landmark it stands in.
_BUILDING_STATIONS = (
    ("ws-kerry", "静安嘉里中心楼宇党群服务站", "静安嘉里中心办公楼"),
    ("ws-wheelock", "会德丰国际广场楼宇党群服务站", "会德丰国际广场"),
    ("ws-ocean", "越洋广场楼宇党群服务站", "越洋广场"),
)
CENTER = "center"


def series() -> list[Row]:
    return [{"code": s.code, "name": s.name, "zone": s.zone, "description": ""} for s in _MENU]


@functools.cache
def _features() -> list[dict[str, Any]]:
    """The demo street's places (built once: the layout takes a while)."""
    return list(jingansi.places()["features"])


def _poi_places() -> dict[str, dict[str, Any]]:
    return {f["properties"]["name"]: f["properties"] for f in _features() if f["properties"]["kind"] == "poi"}


def _areas() -> list[dict[str, Any]]:
    return [f["properties"] for f in _features() if f["properties"]["kind"] == "area"]


def _first_home(area: str) -> dict[str, Any]:
    homes = [
        f["properties"]
        for f in _features()
        if f["properties"]["kind"] == "building"
        and f["properties"].get("area") == area
        and f["properties"].get("use") == "residential"
    ]
    return min(homes, key=lambda b: b["code"])


def venues() -> list[Row]:
    pois = _poi_places()
    rows = [
        {
            "code": CENTER,
            "name": "静安寺街道党群服务中心",
            "level": "street_center",
            "address": "常德路370号",
            "place": "",
        }
    ]
    for area in _areas()[:10]:
        home = _first_home(area["code"])  # the station is in a lane of the area, beside its committee
        rows.append(
            {
                "code": f"st-{area['code'][-3:]}",
                "name": f"{area['name']}党群服务站",
                "level": "area_station",
                "address": f"{home['address']}（{area['committee']}）",
                "place": home["code"],
            }
        )
    for code, name, landmark in _BUILDING_STATIONS:
        poi = pois[landmark]
        rows.append(
            {
                "code": code,
                "name": name,
                "level": "building_station",
                "address": poi["address"],
                "place": poi["code"],
            }
        )
    return rows


def markets() -> list[Row]:
    rows = []
    for v in venues():
        weekly = v["level"] == "building_station"
        rows.append(
            {
                "code": f"m-{v['code']}",
                "name": f"静·邻一家便民集市（{_short(v['name'])}）",
                "venue": v["code"],
                "rule": "FREQ=WEEKLY;BYDAY=WE" if weekly else DEFAULT_RULE,
                "first_day": FIRST_DAY.isoformat(),
                "opens": "12:00" if weekly else "09:00",
                "closes": "13:30" if weekly else "11:30",
                "booking_days": "14" if weekly else "45",
            }
        )
    return rows


def _short(venue: str) -> str:
    return venue.removesuffix("党群服务中心").removesuffix("党群服务站")


def stalls() -> list[Row]:
    menu = {s.code: s for s in _MENU}
    rows = []
    for m in markets():
        if m["venue"] == CENTER:
            offered = [s.code for s in _MENU]
        elif m["venue"].startswith("ws-"):
            offered = list(_BUILDING_STALLS)
        else:
            offered = list(_AREA_STALLS)
        for code in offered:
            s = menu[code]
            rows.append(
                {
                    "code": f"{m['code']}-{code}",
                    "market": m["code"],
                    "series": code,
                    "org": s.org,
                    "name": s.name,
                    "mode": s.mode.value,
                    "capacity": str(s.capacity),
                    "slot_minutes": str(s.minutes),
                    "topics": "|".join(s.topics),
                }
            )
    return rows


def _market_objects() -> list[Market]:
    out = []
    for m in markets():
        out.append(
            Market(
                STREET,
                m["code"],
                m["name"],
                m["venue"],
                m["rule"],
                date.fromisoformat(m["first_day"]),
                time.fromisoformat(m["opens"]),
                time.fromisoformat(m["closes"]),
                int(m["booking_days"]),
            )
        )
    return out


class _People:
    """Invented residents: a name and a unique phone number each."""

    def __init__(self, rng: random.Random, count: int) -> None:
        seen: set[str] = set()
        self.people: list[tuple[str, str]] = []
        while len(self.people) < count:
            phone = rng.choice(("137", "138", "139", "135", "186")) + "".join(
                rng.choice("0123456789") for _ in range(8)
            )
            if phone in seen:
                continue
            seen.add(phone)
            self.people.append((rng.choice(SURNAMES) + rng.choice(GIVEN), phone))

    def sample(self, rng: random.Random, n: int) -> list[tuple[str, str]]:
        return rng.sample(self.people, min(n, len(self.people)))


def _topic_weights(topics: tuple[str, ...]) -> list[float]:
    # 加装电梯 and 用药安全 are what residents asked about most (the seed's 市场监督管理所 stall).
    return [3.0 if t in ("加装电梯", "用药安全", "高血压") else 1.0 for t in topics]


def bookings_register(today: date, rng: random.Random, people: _People) -> list[Row]:
    """Paper registers of the past sessions (about three months back; four weeks for weekly markets)."""
    menu = {s.code: s for s in _MENU}
    stall_rows = stalls()
    rows: list[Row] = []
    for market in _market_objects():
        back = 28 if "WEEKLY" in market.rule else 100
        for session in market.sessions_between(today - timedelta(days=back), today - timedelta(days=1)):
            for stall in (s for s in stall_rows if s["market"] == market.code):
                kind = menu[stall["series"]]
                if kind.mode is BookingMode.SLOT:
                    starts = []
                    at = datetime.combine(session.day, market.opens)
                    while at + timedelta(minutes=kind.minutes) <= datetime.combine(
                        session.day, market.closes
                    ):
                        starts += [at.strftime("%H:%M")] * kind.capacity
                        at += timedelta(minutes=kind.minutes)
                    starts = rng.sample(starts, int(len(starts) * rng.uniform(0.5, 0.95)))
                else:
                    starts = [""] * int(kind.capacity * rng.uniform(0.25, 0.7))
                for slot, (name, phone) in zip(starts, people.sample(rng, len(starts)), strict=False):
                    status = rng.choices(("attended", "booked", "cancelled"), (85, 10, 5))[0]
                    topic = rng.choices(kind.topics, _topic_weights(kind.topics))[0] if kind.topics else ""
                    rows.append(
                        {
                            "stall": stall["code"],
                            "day": session.day.isoformat(),
                            "slot": slot,
                            "name": name,
                            "phone": phone,
                            "topic": topic,
                            "status": status,
                        }
                    )
    return rows


# --- volunteers -----------------------------------------------------------------------------------------

# code, name, organisation, market (street center's when at the market), description
_PROJECTS = (
    ("v-escort", "助老陪诊", "youth", "", "陪伴独居老人就医、取药"),
    ("v-haircut", "义务理发", "barber", "m-center", "为老人义务理发、磨刀"),
    ("v-repair", "家电义修", "repair", "m-center", "小家电、钟表、雨伞维修"),
    ("v-law", "法律援助咨询", "law", "m-center", "劳资、租赁、继承等法律咨询"),
    ("v-waste", "垃圾分类宣传", "waste", "m-center", "绿色账户积分与分类指导"),
    ("v-parking", "非机动车文明停放劝导", "youth", "", "午间送餐高峰劝导外卖电动车有序停放"),
    ("v-mind", "心理健康咨询", "chc", "m-center", "社区心理咨询与情绪疏导"),
    ("v-calligraphy", "书法写福", "culture", "m-center", "书法家现场写福字、春联"),
    ("v-disabled", "助残服务", "redcross", "", "上门助残、康复陪护"),
    ("v-heritage", "历史风貌街区导览", "culture", "", "愚园路历史建筑讲解"),
    ("v-firstaid", "急救技能培训", "redcross", "m-center", "心肺复苏与AED使用培训"),
    ("v-pressure", "健康义诊", "chc", "m-center", "量血压、测血糖、健康咨询"),
)


def volunteer_projects() -> list[Row]:
    return [{"code": c, "name": n, "org": o, "market": m, "description": d} for c, n, o, m, d in _PROJECTS]


def _stamp(day: date, hhmm: str) -> str:
    return datetime.combine(day, time.fromisoformat(hhmm), SHANGHAI).isoformat()


def volunteer_shifts(today: date) -> list[Row]:
    """Shifts at the street center's markets (three months back, two ahead) and weekday lunchtime
    parking patrols around the office towers (four weeks back, two ahead)."""
    (center,) = [m for m in _market_objects() if m.venue == CENTER]
    rows = []
    for session in center.sessions_between(today - timedelta(days=100), today + timedelta(days=70)):
        for code, _, _, market, _ in _PROJECTS:
            if market:
                rows.append(
                    {
                        "code": f"{code}-{session.day:%Y%m%d}",
                        "project": code,
                        "starts_at": _stamp(session.day, "08:30"),
                        "ends_at": _stamp(session.day, "11:45"),
                        "capacity": "8",
                        "place": "静安寺街道党群服务中心",
                    }
                )
    day = today - timedelta(days=28)
    while day <= today + timedelta(days=14):
        if day.weekday() < 5:
            rows.append(
                {
                    "code": f"v-parking-{day:%Y%m%d}",
                    "project": "v-parking",
                    "starts_at": _stamp(day, "11:00"),
                    "ends_at": _stamp(day, "13:00"),
                    "capacity": "6",
                    "place": "静安嘉里中心北侧非机动车停放点",
                }
            )
        day += timedelta(days=1)
    return rows


def volunteer_records(now: datetime, rng: random.Random, volunteers: _People) -> list[Row]:
    """Past service records: who came, checked in and out a few minutes either side of the shift."""
    rows = []
    for shift in volunteer_shifts(local_date(now)):
        start, end = datetime.fromisoformat(shift["starts_at"]), datetime.fromisoformat(shift["ends_at"])
        if end > now:
            continue
        for name, phone in volunteers.sample(rng, rng.randint(3, int(shift["capacity"]))):
            came = start + timedelta(minutes=rng.randint(-15, 20))
            # a shift that ended a few minutes ago: those still there have not checked out yet
            left = min(end + timedelta(minutes=rng.randint(-40, 10)), now)
            rows.append(
                {
                    "shift": shift["code"],
                    "name": name,
                    "phone": phone,
                    "checked_in_at": came.isoformat(),
                    "checked_out_at": left.isoformat(),
                }
            )
    return rows


# --- the job fair ---------------------------------------------------------------------------------------


def _fair_days(today: date) -> tuple[date, date]:
    """The last session of the street center's market before today, and the next one from today."""
    (center,) = [m for m in _market_objects() if m.venue == CENTER]
    past = center.sessions_between(today - timedelta(days=62), today - timedelta(days=1))
    coming = center.sessions_between(today, today + timedelta(days=62))
    return past[-1].day, coming[0].day


def job_fairs(today: date) -> list[Row]:
    last, next_ = _fair_days(today)
    return [
        {
            "code": f"fair-{day:%Y%m}",
            "name": f"“静·邻一家”家门口招聘会（{day.year}年{day.month}月）",
            "venue": CENTER,
            "starts_at": _stamp(day, "09:00"),
            "ends_at": _stamp(day, "11:30"),
            "market": "m-center",
        }
        for day in (last, next_)
    ]


def job_posts(today: date, rng: random.Random) -> list[Row]:
    """About 200 posts of 42 employers at the coming fair; about 60 at the last one."""
    rows = []
    for n, fair in enumerate(job_fairs(today)):
        past = n == 0
        for code, _name, sector in _employers():
            choices = list(_SECTOR_POSTS[sector])
            count = rng.randint(1, 2) if past else rng.randint(3, 6)
            for k, (title, special) in enumerate(rng.sample(choices, count)):
                rows.append(
                    {
                        "code": f"{fair['code']}-{code}-{k + 1}",
                        "fair": fair["code"],
                        "employer": code,
                        "title": title,
                        "openings": str(rng.choice((1, 1, 2, 2, 3, 5))),
                        "special": special,
                        "salary": rng.choice(_SALARY),
                        "requirements": "",
                    }
                )
    return rows


def job_applications(today: date, posts: list[Row], rng: random.Random, people: _People) -> list[Row]:
    """The last fair's desk register: who applied where, and how far each application got."""
    last = job_fairs(today)[0]
    rows = []
    for post in (p for p in posts if p["fair"] == last["code"]):
        for name, phone in people.sample(rng, rng.randint(0, 5)):
            status = rng.choices(
                ("submitted", "interview", "offered", "hired", "rejected"), (20, 25, 10, 20, 25)
            )[0]
            rows.append(
                {
                    "post": post["code"],
                    "name": name,
                    "phone": phone,
                    "status": status,
                    "applied_at": last["starts_at"],
                }
            )
    return rows


# --- renovation -----------------------------------------------------------------------------------------


def _lane(area: str, road: str, lane: str) -> list[dict[str, Any]]:
    found = [
        f["properties"]
        for f in _features()
        if f["properties"]["kind"] == "building"
        and f["properties"].get("area") == area
        and f["properties"].get("road") == road
        and f["properties"].get("lane") == lane
    ]
    return sorted(found, key=lambda b: int(b.get("house") or 0))


# code, name, area, road, lane, signed share, milestones done, description
_RENOVATIONS = (
    ("r-yy608", "愚园路608弄旧住房成套改造", "JAS-A01", "愚园路", "608", 0.87, 2,
     "强化红色引擎，跑出旧住房成套改造加速度：厨卫合用改独用，同步修缮庭院与下水道"),
    ("r-jz768", "胶州路768弄厨卫综合改造", "JAS-A04", "胶州路", "768", 1.0, 5, "煤卫“合”改“独”，已竣工交付"),
    ("r-cd569", "常德路569弄旧住房成套改造", "JAS-A02", "常德路", "569", 0.35, 1,
     "情况摸排完成，方案设计中，逐户征询"),
)  # fmt: skip


def renovation_projects() -> list[Row]:
    return [
        {
            "code": code,
            "name": name,
            "area": area,
            "buildings": "|".join(b["code"] for b in _lane(area, road, lane)),
            "threshold": "0.95",
            "description": description,
        }
        for code, name, area, road, lane, _, _, description in _RENOVATIONS
    ]


def renovation_milestones(today: date) -> list[Row]:
    rows = []
    for code, *_, done, _ in _RENOVATIONS:
        start = today - timedelta(days=60 * done + 30)
        for k, milestone in enumerate(("survey", "design", "signing", "construction", "completion")):
            planned = start + timedelta(days=60 * (k + 1))
            rows.append(
                {
                    "project": code,
                    "milestone": milestone,
                    "planned": planned.isoformat(),
                    "done": (planned - timedelta(days=5)).isoformat() if k < done else "",
                }
            )
    return rows


def renovation_households(today: date, rng: random.Random, people: _People) -> list[Row]:
    rows = []
    for code, _, area, road, lane, share, _, _ in _RENOVATIONS:
        units = [
            (b, floor, room)
            for b in _lane(area, road, lane)
            for floor in range(1, b["floors"] + 1)
            for room in (1, 2, 3)
        ]
        signed = round(len(units) * share)
        heard = min(len(units), signed + round(len(units) * 0.1))
        for k, ((b, floor, room), (name, phone)) in enumerate(
            zip(units, people.sample(rng, len(units)), strict=True)
        ):
            status = (
                "signed"
                if k < signed
                else "declined"
                if k < heard and k % 2
                else "consulted"
                if k < heard
                else "pending"
            )
            day = today - timedelta(days=rng.randint(10, 120))
            rows.append(
                {
                    "project": code,
                    "code": f"{b['house']}-{floor}0{room}",
                    "building": b["code"],
                    "room": f"{b['address']}{floor}0{room}室",
                    "head": name,
                    "phone": phone,
                    "status": status,
                    "consulted_on": day.isoformat() if status != "pending" else "",
                    "signed_on": day.isoformat() if status == "signed" else "",
                }
            )
    return rows


_INNER = ("居民区党总支书记", "网格党组织书记", "居民党员", "居民党员", "退休老干部")
_OUTER = (
    ("区房管局", "静安区房屋管理局"),
    ("人大代表", "区人大代表"),
    ("区属企业集团", "静安置业集团"),
    ("专业设计团队", "上海梧桐建筑设计事务所"),
)


def renovation_people(rng: random.Random, people: _People) -> list[Row]:
    rows = []
    for code, *_ in _RENOVATIONS:
        names = people.sample(rng, len(_INNER) + len(_OUTER))
        for k, role in enumerate(_INNER):
            rows.append(
                {
                    "project": code,
                    "code": f"in{k + 1}",
                    "name": names[k][0],
                    "circle": "inner",
                    "role": role,
                    "org": "",
                }
            )
        for k, (role, org) in enumerate(_OUTER):
            name = names[len(_INNER) + k][0]
            rows.append(
                {
                    "project": code,
                    "code": f"out{k + 1}",
                    "name": name,
                    "circle": "outer",
                    "role": role,
                    "org": org,
                }
            )
    return rows


# --- the party-building grid ----------------------------------------------------------------------------


def party_units() -> list[Row]:
    """Committee → 12 area branches → a party organisation per grid → building groups over the
    residential buildings (two or three neighbouring ones each; about two thirds of them covered)."""
    features = [f["properties"] for f in _features()]
    rows = [{"code": "pc", "name": "静安寺街道党工委", "level": "committee", "parent": "", "places": STREET}]
    for area in (p for p in features if p["kind"] == "area"):
        branch = f"pb-{area['code'][-3:]}"
        rows.append(
            {
                "code": branch,
                "name": f"{area['name']}党总支",
                "level": "branch",
                "parent": "pc",
                "places": area["code"],
            }
        )
        for grid in (p for p in features if p["kind"] == "grid" and p["parent"] == area["code"]):
            org = f"po-{grid['code'][-6:]}"
            name = f"{area['name'].removesuffix('居民区')}第{grid['code'][-1]}网格党支部"
            rows.append(
                {"code": org, "name": name, "level": "organisation", "parent": branch, "places": grid["code"]}
            )
            homes = [
                p
                for p in features
                if p["kind"] == "building" and p["parent"] == grid["code"] and p.get("use") == "residential"
            ]
            for k in range(0, len(homes) * 2 // 3, 3):
                covered = homes[k : k + 3]
                first = covered[0]
                rows.append(
                    {
                        "code": f"pg-{first['code'][-10:]}",
                        "name": f"{first['address']}等楼栋党小组",
                        "level": "group",
                        "parent": org,
                        "places": "|".join(b["code"] for b in covered),
                    }
                )
    return rows


_DUTIES = {
    "committee": ("书记", "统筹街道党建引领基层治理"),
    "branch": ("党总支书记", "主持居民区党总支工作，牵头旧改征询与议事会"),
    "organisation": ("支部书记", "联系网格内楼组，收集居民诉求"),
    "group": ("党小组组长", "联系本楼栋居民，上情下达、下情上传"),
}


def party_members(rng: random.Random, people: _People) -> list[Row]:
    rows = []
    for unit in party_units():
        post, duty = _DUTIES[unit["level"]]
        extra = {"committee": 2, "branch": 2, "organisation": 1, "group": 1}[unit["level"]]
        for k, (name, phone) in enumerate(people.sample(rng, 1 + extra)):
            rows.append(
                {
                    "code": f"{unit['code']}-{k + 1}",
                    "unit": unit["code"],
                    "name": name,
                    "post": post
                    if k == 0
                    else "委员"
                    if unit["level"] in ("committee", "branch")
                    else "党员",
                    "leads": "true" if k == 0 else "false",
                    "duties": duty if k == 0 else "协助做好联系服务群众工作",
                    "phone": phone,
                }
            )
    return rows


# --- loading --------------------------------------------------------------------------------------------


def community_files(now: datetime, seed: int = _SEED) -> Iterator[tuple[ImportKind, str]]:
    """Each file of the demo in import order, as CSV text."""
    today = local_date(now)
    rng = random.Random(seed)
    residents = _People(random.Random(seed + 1), 900)
    volunteers = _People(random.Random(seed + 2), 80)
    party = _People(random.Random(seed + 3), 400)
    posts = job_posts(today, random.Random(seed + 8))
    tables: list[tuple[ImportKind, list[Row]]] = [
        (ImportKind.ORGS, orgs()),
        (ImportKind.SERIES, series()),
        (ImportKind.VENUES, venues()),
        (ImportKind.MARKETS, markets()),
        (ImportKind.STALLS, stalls()),
        (ImportKind.BOOKINGS, bookings_register(today, rng, residents)),
        (ImportKind.VOLUNTEER_PROJECTS, volunteer_projects()),
        (ImportKind.VOLUNTEER_SHIFTS, volunteer_shifts(today)),
        (ImportKind.VOLUNTEER_RECORDS, volunteer_records(now, rng, volunteers)),
        (ImportKind.JOB_FAIRS, job_fairs(today)),
        (ImportKind.JOB_POSTS, posts),
        (ImportKind.JOB_APPLICATIONS, job_applications(today, posts, rng, residents)),
        (ImportKind.RENOVATION_PROJECTS, renovation_projects()),
        (ImportKind.RENOVATION_MILESTONES, renovation_milestones(today)),
        (ImportKind.RENOVATION_HOUSEHOLDS, renovation_households(today, rng, residents)),
        (ImportKind.RENOVATION_PEOPLE, renovation_people(rng, party)),
        (ImportKind.PARTY_UNITS, party_units()),
        (ImportKind.PARTY_MEMBERS, party_members(rng, party)),
    ]
    for kind, rows in tables:
        yield kind, write_csv(rows, COLUMNS[kind])


def book_coming_sessions(community: Community, now: datetime, seed: int = _SEED) -> int:
    """Residents book the coming sessions through the public service, every limit applied (a refusal is
    part of the demo: a full slot, a second booking); returns how many bookings were made."""
    rng = random.Random(seed + 4)
    residents = _People(random.Random(seed + 1), 900)
    made = 0
    _, _, sessions = community.market.upcoming(STREET, days=45, per_market=2)
    for session in sessions:
        board = community.market.board(STREET, session.market, session.day)
        if not board.bookable:
            continue
        for stall in board.stalls:
            wanted = int(stall.stall.capacity * (len(stall.slots) or 1) * rng.uniform(0.05, 0.2))
            for name, phone in residents.sample(rng, wanted):
                slot = rng.choice(stall.slots).at.astimezone(SHANGHAI).time() if stall.slots else None
                topic = rng.choice(stall.stall.topics) if stall.stall.topics else ""
                try:
                    community.market.book(STREET, stall.stall.code, session.day, slot, name, phone, topic)
                except DomainError:
                    continue
                made += 1
    return made


def sign_up_coming_shifts(community: Community, seed: int = _SEED) -> int:
    rng = random.Random(seed + 5)
    volunteers = _People(random.Random(seed + 2), 80)
    made = 0
    _, shifts = community.volunteers.shifts(STREET)
    for view in shifts:
        for name, phone in volunteers.sample(rng, rng.randint(0, view.shift.capacity)):
            try:
                community.volunteers.sign_up(STREET, view.shift.code, name, phone)
            except DomainError:
                continue
            made += 1
    return made


def apply_to_coming_fair(community: Community, seed: int = _SEED) -> int:
    rng = random.Random(seed + 6)
    residents = _People(random.Random(seed + 7), 300)
    _, fairs = community.jobs.fairs(STREET)
    _, posts = community.jobs.posts(STREET, fairs[-1].code)
    made = 0
    for name, phone in residents.people[:120]:
        for view in rng.sample(posts, 2):
            try:
                community.jobs.apply(STREET, view.post.code, name, phone)
            except DomainError:
                continue
            made += 1
    return made


def load_demo_community(community: Community, now: datetime) -> dict[str, int]:
    """Import every file, then let residents book, sign up and apply for what is coming; returns counts."""
    counts = {
        kind.value: community.files.import_csv(LOADER, STREET, kind, text)
        for kind, text in community_files(now)
    }
    counts["bookings"] += book_coming_sessions(community, now)
    counts["volunteer-signups"] = sign_up_coming_shifts(community)
    counts["job-applications"] += apply_to_coming_fair(community)
    return counts
