"""Every route of the app, called by every kind of caller.

The walk lists the app's routes itself and calls each one, with a valid request, as every role of the test
street, a district admin, the director of another street, no token and a made-up token. EXPECTED says, for
each route, who gets through and what everyone else gets (401, 403, 404): a route added without deciding
its access fails here, and so does a route whose answers change. No answer is ever a 5xx, and complainants'
and residents' names and phones appear only in the answers to those who may see them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from apikit import TILE, V1, Api, assert_error
from chengyun.adapters.clock import ManualClock
from chengyun.api.ratelimit import PublicLimits
from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, Role
from chengyun.domain.dispatch import RoutingRules
from chengyun.services.auth import FailedAttempts
from chengyun.services.community.imports import ImportKind
from community_data import MARKET_DAY, load_community
from street import ADMIN, STREET, T0

# --- who calls ----------------------------------------------------------------------------------------

# Token holders: role, staff member, streets. M1 is the assignee of every order of the walk (area A1); M3
# serves the other area. "district" is an admin of no street in particular (the whole district).
HOLDERS: dict[str, tuple[Role, str | None, tuple[str, ...]]] = {
    "admin": (Role.ADMIN, None, (STREET,)),
    "district": (Role.ADMIN, None, ()),
    "director": (Role.DIRECTOR, "D1", (STREET,)),
    "duty": (Role.DUTY_OFFICER, "O1", (STREET,)),
    "desk": (Role.HOTLINE_HANDLER, "H1", (STREET,)),
    "M1": (Role.AREA_MANAGER, "M1", (STREET,)),
    "M3": (Role.AREA_MANAGER, "M3", (STREET,)),
    "patrol": (Role.PATROL_OBSERVER, "P1", (STREET,)),
    "responder": (Role.CHIEF_RESPONDER, "R1", (STREET,)),
    "hotline": (Role.HOTLINE_SYSTEM, None, (STREET,)),
    "sensor": (Role.SENSOR_SYSTEM, None, (STREET,)),
    "worker": (Role.COMMUNITY_WORKER, None, (STREET,)),
    "outsider": (Role.DIRECTOR, None, ("X",)),  # the director of another street
}
# ... plus the stall holder of the hospital (its token comes from /community/accounts), no token at all
# and a token nobody issued.
CALLERS = (*HOLDERS, "stall", "anonymous", "bad")

# Who sees complainants' contacts on the walk's orders (all assigned to M1), and residents' (community).
SEES_COMPLAINANTS = {"admin", "district", "director", "duty", "desk", "responder", "hotline", "M1"}
SEES_RESIDENTS = {"admin", "district", "director", "duty", "worker"}
COMPLAINANT = ("唐女士", "13812345678")
RESIDENT_NAMES = ("欧阳阿姨", "司马先生", "上官小姐")  # bookings, volunteers, applicants: one per call
HOUSEHOLD_PHONE = "138000"  # renovation households' phones (1380000nnnn), party members' below
PARTY_PHONE = "1391111000"

# --- what each caller may do ------------------------------------------------------------------------------

Outcome = str | int  # "ok" (2xx) or the refusal's status

GROUPS = {
    "ADMINS": "admin district",
    "SUPERVISORS": "admin district director duty",
    "DISPATCHERS": "admin district director duty desk",
    "READERS": "admin district director duty desk M1 M3 patrol responder hotline",
    "COMMUNITY": "admin district director duty worker",
    "STAFF": "director duty desk M1 M3 patrol responder",  # people (a staff id) of the street
    "EVERYONE": " ".join(CALLERS),
}


def allow(
    who: str, *, outsider: Outcome = 403, rest: Outcome = 403, **special: Outcome
) -> dict[str, Outcome]:
    """`who` (callers or GROUPS) get through; the other token holders get `rest`, the other street's
    director `outsider`, no token and a bad token 401; `special` overrides any of them."""
    allowed = {name for word in who.split() for name in GROUPS.get(word, word).split()}
    table: dict[str, Outcome] = {c: "ok" if c in allowed else rest for c in CALLERS}
    if "outsider" not in allowed:
        table["outsider"] = outsider
    for caller in ("anonymous", "bad"):
        if caller not in allowed:
            table[caller] = 401
    return table | special


PUBLIC = allow("EVERYONE")
READ = allow("READERS")  # the street's readers; the other street's director asked for this street: 403
READ_ONE = allow("READERS", outsider=404)  # one thing of the street: the other street does not know it
SUPERVISE = allow("SUPERVISORS")
COMMUNITY_STAFF = allow("COMMUNITY")
COMMUNITY_READ = allow("READERS worker")
CREATE = allow("DISPATCHERS M1 M3 patrol responder hotline sensor")  # CREATORS, and geocode etc. for them
NOT_STAFF = 422  # a token that is not a person's (check-ins, one's own notifications)


def order_action(who: str) -> dict[str, Outcome]:
    return allow(who, outsider=404)


EXPECTED: dict[str, dict[str, Outcome]] = {
    # orders
    "POST /api/v1/orders": CREATE,
    "GET /api/v1/orders": READ,
    "GET /api/v1/orders/{order_id}": READ_ONE,
    "GET /api/v1/orders/{order_id}/timeline": READ_ONE,
    "GET /api/v1/orders/{order_id}/duplicates": READ_ONE,
    "GET /api/v1/orders/{order_id}/grade": READ_ONE,
    "POST /api/v1/orders/{order_id}/dispatch": order_action("DISPATCHERS"),
    "POST /api/v1/orders/{order_id}/reassign": order_action("DISPATCHERS"),
    "POST /api/v1/orders/{order_id}/respond": order_action("M1 desk responder"),
    "POST /api/v1/orders/{order_id}/arrive": order_action("M1"),
    "POST /api/v1/orders/{order_id}/handle": order_action("M1"),
    "POST /api/v1/orders/{order_id}/plan": order_action("M1"),
    "POST /api/v1/orders/{order_id}/close-loop": order_action("SUPERVISORS desk responder M1"),
    "POST /api/v1/orders/{order_id}/close": order_action("SUPERVISORS desk responder"),
    "POST /api/v1/orders/{order_id}/return": order_action("M1"),
    "POST /api/v1/orders/{order_id}/extension": order_action("M1"),
    "POST /api/v1/orders/{order_id}/extension/decision": order_action("SUPERVISORS"),
    "POST /api/v1/orders/{order_id}/suspend": order_action("SUPERVISORS"),
    "POST /api/v1/orders/{order_id}/resume": order_action("SUPERVISORS"),
    "POST /api/v1/orders/{order_id}/reopen": order_action("SUPERVISORS desk responder"),
    "POST /api/v1/orders/{order_id}/merge": order_action("DISPATCHERS"),
    "POST /api/v1/orders/{order_id}/supervise": order_action("SUPERVISORS"),
    "POST /api/v1/orders/{order_id}/supervisions/{no}/reply": order_action("M1"),
    "POST /api/v1/orders/{order_id}/regrade": order_action("DISPATCHERS"),
    "POST /api/v1/orders/{order_id}/reclassify": order_action("DISPATCHERS"),
    "POST /api/v1/orders/{order_id}/notes": order_action("DISPATCHERS responder patrol M1"),
    "POST /api/v1/orders/{order_id}/urge": order_action("SUPERVISORS"),
    # places and people
    "GET /api/v1/places": READ,
    "GET /api/v1/places/{code}": READ,
    "PUT /api/v1/places": SUPERVISE,
    "GET /api/v1/departments": READ,
    "PUT /api/v1/departments": SUPERVISE,
    "GET /api/v1/staff": READ,
    "GET /api/v1/staff.csv": READ,
    "PUT /api/v1/staff": SUPERVISE,
    "GET /api/v1/ab-pairs": READ,
    "PUT /api/v1/ab-pairs": SUPERVISE,
    "GET /api/v1/roster": READ,
    "POST /api/v1/roster": SUPERVISE,
    "GET /api/v1/on-duty": READ,
    "POST /api/v1/checkins": allow("STAFF", rest=NOT_STAFF, outsider=NOT_STAFF),
    "GET /api/v1/absences": READ,
    "POST /api/v1/absences": SUPERVISE,
    "DELETE /api/v1/absences/{absence_id}": SUPERVISE,
    # configuration
    "GET /api/v1/streets": allow("READERS outsider"),  # each sees its own streets
    "GET /api/v1/categories": READ,
    "PUT /api/v1/categories": SUPERVISE,
    "GET /api/v1/deadline-policies": READ,
    "PUT /api/v1/deadline-policies": SUPERVISE,
    "GET /api/v1/grading-rules": READ,
    "PUT /api/v1/grading-rules": SUPERVISE,
    "POST /api/v1/grading-rules/dry-run": SUPERVISE,
    "GET /api/v1/supervision-rules": READ,
    "PUT /api/v1/supervision-rules": SUPERVISE,
    "GET /api/v1/notification-rules": SUPERVISE,
    "PUT /api/v1/notification-rules": SUPERVISE,
    # tokens
    "GET /api/v1/me": allow("EVERYONE", anonymous=401, bad=401),
    "POST /api/v1/tokens": allow("ADMINS"),
    "GET /api/v1/tokens": allow("ADMINS"),
    "DELETE /api/v1/tokens/{token_id}": allow("ADMINS"),
    "GET /api/v1/audit": allow("ADMINS"),
    # intake helpers
    "GET /api/v1/events": allow("READERS outsider"),  # the outsider's feed carries its own street only
    "POST /api/v1/geocode": CREATE,
    "POST /api/v1/classify": CREATE,
    "POST /api/v1/classifier/examples": allow("DISPATCHERS"),
    "POST /api/v1/classifier/retrain": SUPERVISE,
    "POST /api/v1/routing/preview": CREATE,
    # sensors
    "POST /api/v1/readings": allow(
        "SUPERVISORS sensor", outsider=422
    ),  # not its sensors: refused, none stored
    "GET /api/v1/sensors": READ,
    "GET /api/v1/sensors/export": READ,
    "PUT /api/v1/sensors": SUPERVISE,
    "PUT /api/v1/sensors/csv": SUPERVISE,
    "GET /api/v1/sensors/{sensor_id}": READ_ONE,
    "GET /api/v1/sensors/{sensor_id}/series": READ_ONE,
    "GET /api/v1/alarms": READ,
    "GET /api/v1/alarms/{alarm_id}": READ_ONE,
    "POST /api/v1/alarms/{alarm_id}/acknowledge": allow("DISPATCHERS", outsider=404),
    "GET /api/v1/dead-letters": SUPERVISE,
    # the wall screen, the twin, figures
    "GET /api/v1/screen/overview": READ,
    "GET /api/v1/screen/orders": READ,
    "GET /api/v1/screen/sensors": READ,
    "GET /api/v1/twin/places/{code}": READ,
    "GET /api/v1/twin/nearest": READ,
    "GET /api/v1/twin/areas/{code}": READ,
    "GET /api/v1/twin/snapshot": READ,
    "GET /api/v1/assessment": SUPERVISE,
    "GET /api/v1/assessment/export": SUPERVISE,
    "GET /api/v1/analysis/hotspots": SUPERVISE,
    "GET /api/v1/analysis/recurrences": SUPERVISE,
    "GET /api/v1/analysis/trends": SUPERVISE,
    "GET /api/v1/analysis/brief": SUPERVISE,
    # supervision and notifications
    "POST /api/v1/notices": SUPERVISE,
    "GET /api/v1/notices": READ,
    "GET /api/v1/board": READ,
    "GET /api/v1/notifications": allow(
        "STAFF", admin=NOT_STAFF, district=NOT_STAFF, hotline=NOT_STAFF, outsider=NOT_STAFF
    ),
    "POST /api/v1/notifications/read": allow(
        "STAFF", admin=NOT_STAFF, district=NOT_STAFF, hotline=NOT_STAFF, outsider=NOT_STAFF
    ),
    "GET /api/v1/notifications/deliveries": SUPERVISE,
    # community programs, the staff side: figures for every reader, residents for the center
    "GET /api/v1/community/summary": COMMUNITY_READ,
    "GET /api/v1/community/files/{kind}": COMMUNITY_STAFF,
    "PUT /api/v1/community/files/{kind}": COMMUNITY_STAFF,
    "POST /api/v1/community/accounts": COMMUNITY_STAFF,
    "GET /api/v1/community/account": allow("READERS worker stall sensor"),  # an org only for a stall holder
    "GET /api/v1/community/bookings": allow("READERS worker stall"),  # residents masked but for the center
    "POST /api/v1/community/bookings/{booking_id}/attend": allow("COMMUNITY stall"),
    "GET /api/v1/community/market-figures": COMMUNITY_READ,
    "GET /api/v1/community/volunteer-shifts/{shift}/signups": COMMUNITY_STAFF,
    "POST /api/v1/community/volunteer-signups/{signup_id}/check-in": COMMUNITY_STAFF,
    "POST /api/v1/community/volunteer-signups/{signup_id}/check-out": COMMUNITY_STAFF,
    "GET /api/v1/community/volunteer-hours": COMMUNITY_READ,
    "GET /api/v1/community/job-applications": allow("READERS worker stall"),
    "POST /api/v1/community/job-applications/{application_id}/status": allow("COMMUNITY stall"),
    "GET /api/v1/community/job-figures": COMMUNITY_READ,
    "GET /api/v1/community/renovation/projects": COMMUNITY_READ,
    "GET /api/v1/community/renovation/projects/{code}": COMMUNITY_READ,
    "POST /api/v1/community/renovation/projects/{code}/households/{household}": COMMUNITY_STAFF,
    "POST /api/v1/community/renovation/projects/{code}/milestones/{milestone}": COMMUNITY_STAFF,
    "GET /api/v1/community/party/units": COMMUNITY_READ,
    "GET /api/v1/community/party/responsible": COMMUNITY_READ,
    # community programs, the residents' side: no token, residents masked, a code to come back with
    **{
        f"{m} /api/v1/community/public/{p}": PUBLIC
        for m, p in (
            ("GET", "markets"),
            ("GET", "markets/{market}/sessions/{day}"),
            ("POST", "bookings"),
            ("GET", "bookings/{code}"),
            ("POST", "bookings/{code}/cancel"),
            ("GET", "volunteer-shifts"),
            ("POST", "volunteer-signups"),
            ("GET", "volunteer-signups/{code}"),
            ("POST", "volunteer-signups/{code}/cancel"),
            ("GET", "job-posts"),
            ("POST", "job-applications"),
            ("GET", "job-applications/{code}"),
            ("POST", "job-applications/{code}/withdraw"),
        )
    },
    # Open311: reads are public; a request needs a key that may create orders, of the street (400: another
    # jurisdiction); a key that is missing, made up or of a role that may not create is a 403
    **{
        f"GET /open311/v2/{p}": PUBLIC
        for p in (
            "discovery.{fmt}",
            "services.{fmt}",
            "services/{code}.{fmt}",
            "service/{code}.{fmt}",
            "requests.{fmt}",
            "requests/{request_id}.{fmt}",
            "tokens/{token}.{fmt}",
        )
    },
    "POST /open311/v2/requests.{fmt}": allow(
        "DISPATCHERS M1 M3 patrol responder hotline sensor", outsider=400, anonymous=403, bad=403
    ),
    **{
        f"{m} /open311/v2/{{rest:path}}": allow("", rest=404, outsider=404, anonymous=404, bad=404)
        for m in ("DELETE", "GET", "PATCH", "POST", "PUT")
    },
    # the pages hold no data (they log in with a token), the documentation, the health check
    **{
        f"GET {p}": PUBLIC
        for p in (
            "/",
            "/board",
            "/community",
            "/intake",
            "/jobfair",
            "/market",
            "/partygrid",
            "/renovation",
            "/reports",
            "/screen",
            "/stall",
            "/tasks",
            "/volunteers",
            "/static",
            "/openapi.json",
            "/docs",
            "/docs/oauth2-redirect",
            "/redoc",
            "/api/v1/health",
        )
    },
}


# --- the routes ---------------------------------------------------------------------------------------


def app_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD left out; mounts as GET."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Any) -> None:
        for route in routes:
            if getattr(route, "methods", None):
                found.update((m, route.path) for m in route.methods if m != "HEAD")
            elif getattr(route, "routes", None) is not None and hasattr(route, "path"):
                found.add(("GET", route.path))  # a mount: the static files
            else:
                walk(getattr(route, "routes", []))

    walk(app.routes)
    return sorted(found, key=lambda r: (r[1], r[0]))


@dataclass
class Call:
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    api_key: bool = False  # Open311: the caller's token goes in `api_key`, not the header


Build = Callable[["Walk", str], Call]


NOW = T0 + timedelta(minutes=5)
HERE = {"lon": 121.4421, "lat": 31.2251}
SENSORS_CSV = "id,kind,lon,lat,watches,watch_kind,rules\n" + "".join(
    f"W{n},water_level,121.4420,31.2250,B1,place,\n" for n in range(1, 10)
)
MORE_COMMUNITY: list[tuple[ImportKind, str]] = [
    # room enough for one booking, signup and application per call
    (
        ImportKind.STALLS,
        "code,market,series,org,name,mode,capacity,slot_minutes,topics\n"
        "S3,M1,doctor,hosp,健康咨询,queue,500,,\n",
    ),
    (
        ImportKind.VOLUNTEER_SHIFTS,
        "code,project,starts_at,ends_at,capacity,place\n"
        "SH2,P1,2026-12-03T08:30:00+08:00,2026-12-03T11:45:00+08:00,500,党群服务中心\n",
    ),
    (ImportKind.JOB_POSTS, "code,fair,employer,title,openings\nJ3,F1,hosp,导医,500\n"),
    # one pending household per call that signs one up
    (
        ImportKind.RENOVATION_HOUSEHOLDS,
        "project,code,building,room,head,phone,status,consulted_on,signed_on\n"
        + "".join(f"R1,{n},B1,{n}室,户主{n},1380000{n:04d},pending,,\n" for n in range(11, 60)),
    ),
]


class Walk:
    """The test street with something of everything, the callers' tokens, and fresh objects for calls
    that use one up (a successful close needs another order to close next)."""

    def __init__(self, api: Api, center: Center, clock: ManualClock) -> None:
        self.api, self.center, self.clock = api, center, clock
        self.route = ""
        self._kept: dict[str, Any] = {}
        self._n = itertools.count(1)
        center.orders.routing = RoutingRules(max_open_orders=1000)  # every order stays with M1
        # The made-up token fails once per route, all from one client: more than a client may
        # (test_api_failed_tokens.py has the limit's own test).
        center.auth.failures = FailedAttempts(limit=1000)
        # The residents' bookings and Open311 posts the walk makes, all from one client, are more than a
        # client may send in a minute (test_api_ratelimit.py): counted, but the limit is raised.
        api.client.app.state.public_limits = PublicLimits(100_000, 100_000)
        load_community(center)
        for kind, text in MORE_COMMUNITY:
            center.community.files.import_csv(ADMIN, STREET, kind, text)
        response = api.put(
            "/sensors/csv", "duty", content=SENSORS_CSV.encode(), headers={"Content-Type": "text/csv"}
        )
        assert response.status_code == 200, response.text
        clock.set(NOW)
        self.alarms = iter(self._raise_alarms())
        self.tokens = {name: self._issue(*holder) for name, holder in HOLDERS.items()}
        stall = api.client.post(f"{V1}/community/accounts", json={"org": "hosp"}, headers=self.auth("worker"))
        assert stall.status_code == 201, stall.text
        self.tokens["stall"] = stall.json()["token"]
        self.tokens["bad"] = "cy_" + "x" * 43
        self.order_id = self.order()
        self.alarm_id = next(self.alarms)  # one to read; the others to acknowledge
        self.booking = self.public_booking()
        self.open311 = open311_request(self)

    def _issue(self, role: Role, staff: str | None, streets: tuple[str, ...]) -> str:
        return self.center.auth.issue(role, streets=list(streets), staff_id=staff)[0]

    def _raise_alarms(self) -> list[int]:
        batch = [{"sensor_id": f"W{n}", "ts": NOW.isoformat(), "values": {"level": 40}} for n in range(2, 10)]
        assert self.api.post("/readings", "sensor", json=batch).status_code == 200
        alarms = self.api.get("/alarms", "duty", params={"limit": 100}).json()["items"]
        assert len(alarms) == 8, alarms
        return [a["id"] for a in alarms]

    def last_event(self) -> int:
        with self.center.uow() as uow:
            return uow.orders.last_event_id()

    def auth(self, caller: str) -> dict[str, str]:
        token = self.tokens.get(caller)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def n(self) -> int:
        return next(self._n)

    def kept(self, make: Callable[[], Any]) -> Any:
        """An object for the route being walked, made again once a call has used it up."""
        if self.route not in self._kept:
            self._kept[self.route] = make()
        return self._kept[self.route]

    def used_up(self) -> None:
        self._kept.pop(self.route, None)

    # things to call on

    def order(self, *steps: tuple[str, str, dict[str, Any]]) -> int:
        created = self.api.create()
        order_id = int(created["id"])
        if created["assignee"] != "M1":  # nearer people checked in on the walk
            self.api.ok(order_id, "dispatch", "desk", assignee="M1", note="交专管员")
        for action, who, body in steps:
            self.api.ok(order_id, action, who, **body)
        return order_id

    def public_booking(self) -> dict[str, Any]:
        body = {"stall": "S3", "day": MARKET_DAY, "name": RESIDENT_NAMES[0], "phone": self.phone()}
        made = self.api.client.post(f"{V1}/community/public/bookings", json=body)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def public(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        made = self.api.client.post(f"{V1}/community/public/{path}", json=body)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def phone(self) -> str:
        return f"137{self.n():08d}"

    def staff_id_of(self, path: str, code: str) -> int:
        listed = self.api.client.get(
            f"{V1}/community/{path}", headers=self.auth("worker"), params={"since": MARKET_DAY}
        )
        assert listed.status_code == 200, listed.text
        return int(next(item["id"] for item in listed.json() if item.get("code", code) == code))


RESPONDED = ("respond", "M1", {"note": "已电话联系"})
ARRIVED = ("arrive", "M1", {"position": HERE})
HANDLED = ("handle", "M1", {"note": "地砖已重新铺设"})
LOOP_CLOSED = ("close-loop", "responder", {"note": "回访满意"})
CLOSED = ("close", "desk", {})
EXTENSION = {"until": "2026-11-25T10:30:00+08:00", "reason": "需调用高空作业车"}

# action: the steps before it and its body
ORDER_ACTIONS: dict[str, tuple[tuple[tuple[str, str, dict[str, Any]], ...], dict[str, Any]]] = {
    "dispatch": ((), {"assignee": "M1", "note": "改派"}),
    "reassign": ((), {"assignee": "M2", "reason": "A 角赶不到现场"}),
    "respond": ((), {"note": "已电话联系"}),
    "arrive": ((RESPONDED,), {"position": HERE}),
    "handle": ((RESPONDED, ARRIVED), {"note": "已修复"}),
    "plan": ((RESPONDED, ARRIVED), {"plan": "明天换砖", "planned_for": "2026-11-26T10:00:00+08:00"}),
    "close-loop": ((RESPONDED, ARRIVED, HANDLED), {"note": "回访满意"}),
    "close": ((RESPONDED, ARRIVED, HANDLED, LOOP_CLOSED), {}),
    "return": ((), {"reason": "wrong_area", "note": "不属本居民区"}),
    "extension": ((), EXTENSION),
    "extension/decision": ((("extension", "M1", EXTENSION),), {"approve": True}),
    "suspend": ((), {"reason": "需区级协调"}),
    "resume": ((("suspend", "duty", {"reason": "需区房管局协调"}),), {}),
    "reopen": ((RESPONDED, ARRIVED, HANDLED, LOOP_CLOSED, CLOSED), {"reason": "回访不满意"}),
    "merge": ((), {}),  # into: the walk's order
    "supervise": ((), {"note": "请尽快处理"}),
    "supervisions/{no}/reply": ((("supervise", "duty", {"note": "请立即处置"}),), {"reply": "已在处理"}),
    "regrade": ((), {"colour": "red", "reason": "有人受伤"}),
    "reclassify": ((), {"category": "100101", "reason": "实为井盖"}),
    "notes": ((), {"note": "现场已设围挡"}),
    "urge": ((), {"note": "请加快处置"}),
}


def order_action_call(action: str) -> Build:
    steps, body = ORDER_ACTIONS[action]

    def build(w: Walk, caller: str) -> Call:
        order_id = w.kept(lambda: w.order(*steps))
        payload = body | ({"into": w.order_id} if action == "merge" else {})
        return Call(f"{V1}/orders/{order_id}/{action.replace('{no}', '1')}", json=payload)

    return build


def get(url: str, **params: Any) -> Build:
    return lambda w, caller: Call(url.format(w=w), params=params)


def put_back(url: str, content_type: str | None = None, source: str | None = None, **params: Any) -> Build:
    """PUT what GET (of `source`, else the same url, as the street's admin) answers: a replacement that
    changes nothing."""

    def build(w: Walk, caller: str) -> Call:
        got = w.api.client.get(source or url, headers=w.auth("admin"), params=params)
        assert got.status_code == 200, (url, got.text)
        if content_type is None:
            return Call(url, json=got.json())
        return Call(url, content=got.content, headers={"Content-Type": content_type})

    return build


def fresh_token(w: Walk, caller: str) -> Call:
    token_id = w.kept(lambda: w.center.auth.issue(Role.PATROL_OBSERVER, [STREET], "P1")[1].id)
    return Call(f"{V1}/tokens/{token_id}")


def fresh_absence(w: Walk, caller: str) -> Call:
    def make() -> int:
        day = T0 + timedelta(days=w.n())
        made = w.center.directory.add_absence(ADMIN, STREET, "M2", day, day + timedelta(hours=4), "事假")
        assert made.id is not None
        return made.id

    return Call(f"{V1}/absences/{w.kept(make)}")


def new_absence(w: Walk, caller: str) -> Call:
    day = T0 + timedelta(days=100 + w.n())
    body = {
        "staff": "M4",
        "start": day.isoformat(),
        "end": (day + timedelta(hours=4)).isoformat(),
        "reason": "病假",
    }
    return Call(f"{V1}/absences", json=body)


def acknowledge(w: Walk, caller: str) -> Call:
    return Call(f"{V1}/alarms/{w.kept(lambda: next(w.alarms))}/acknowledge")


def market_day(hour: int, minute: int = 0) -> Any:
    return (T0 + timedelta(days=8)).replace(hour=hour, minute=minute)


def attend(w: Walk, caller: str) -> Call:
    booking = w.kept(w.public_booking)
    w.clock.set(market_day(9, 30))
    return Call(f"{V1}/community/bookings/{booking_id(w, booking['code'])}/attend")


def booking_id(w: Walk, code: str) -> int:
    listed = w.api.client.get(
        f"{V1}/community/bookings", headers=w.auth("worker"), params={"since": MARKET_DAY}
    )
    assert listed.status_code == 200, listed.text
    by_number = {b["number"]: b["id"] for b in listed.json() if b["stall"] == "S3"}
    found = w.api.client.get(f"{V1}/community/public/bookings/{code}").json()
    return int(by_number[found["number"]])


def signup_id(w: Walk, checked_in: bool) -> int:
    def make() -> int:
        w.public("volunteer-signups", {"shift": "SH2", "name": RESIDENT_NAMES[1], "phone": w.phone()})
        listed = w.api.client.get(f"{V1}/community/volunteer-shifts/SH2/signups", headers=w.auth("worker"))
        newest = max(s["id"] for s in listed.json())
        if checked_in:
            w.clock.set(market_day(8, 20))
            done = w.api.client.post(
                f"{V1}/community/volunteer-signups/{newest}/check-in", headers=w.auth("worker")
            )
            assert done.status_code == 200, done.text
        return int(newest)

    return int(w.kept(make))


def check_in(w: Walk, caller: str) -> Call:
    signup = signup_id(w, checked_in=False)
    w.clock.set(market_day(8, 20))
    return Call(f"{V1}/community/volunteer-signups/{signup}/check-in")


def check_out(w: Walk, caller: str) -> Call:
    signup = signup_id(w, checked_in=True)
    w.clock.set(market_day(11))
    return Call(f"{V1}/community/volunteer-signups/{signup}/check-out")


def move_application(w: Walk, caller: str) -> Call:
    def make() -> int:
        w.public("job-applications", {"post": "J3", "name": RESIDENT_NAMES[2], "phone": w.phone()})
        listed = w.api.client.get(f"{V1}/community/job-applications", headers=w.auth("worker"))
        return int(max(a["id"] for a in listed.json()))

    return Call(f"{V1}/community/job-applications/{w.kept(make)}/status", json={"status": "offered"})


def sign_household(w: Walk, caller: str) -> Call:
    household = w.kept(lambda: 10 + w.n() % 49 + 1)
    return Call(f"{V1}/community/renovation/projects/R1/households/{household}", json={"action": "sign"})


def milestone(w: Walk, caller: str) -> Call:
    # again and again: the survey reopened before each call
    w.center.community.files.import_csv(
        ADMIN,
        STREET,
        ImportKind.RENOVATION_MILESTONES,
        "project,milestone,planned,done\nR1,survey,2026-03-01,\n",
    )
    return Call(f"{V1}/community/renovation/projects/R1/milestones/survey", json={})


def public_cancel(path: str, body: Callable[[Walk], dict[str, Any]], verb: str) -> Build:
    def build(w: Walk, caller: str) -> Call:
        made = w.kept(lambda: w.public(path, body(w)))
        return Call(f"{V1}/community/public/{path}/{made['code']}/{verb}")

    return build


def open311_request(w: Walk) -> dict[str, Any]:
    made = w.api.client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": w.tokens["hotline"],
            "service_code": "200101",
            "lat": "31.2251",
            "long": "121.4421",
            "description": "人行道地砖翘起",
            "first_name": "唐",
            "last_name": "女士",
            "phone": COMPLAINANT[1],
        },
    )
    assert made.status_code == 200 or made.status_code == 201, made.text
    return dict(made.json()[0])


def open311_post(w: Walk, caller: str) -> Call:
    body = {
        "service_code": "200101",
        "lat": "31.2251",
        "long": "121.4421",
        "description": "井盖缺失",
        "phone": COMPLAINANT[1],
        "first_name": "唐",
        "last_name": "女士",
    }
    return Call("/open311/v2/requests.json", data=body, api_key=True)


REQUESTS: dict[str, Build] = {
    "POST /api/v1/orders": lambda w, c: Call(f"{V1}/orders", json=TILE | {"street": STREET}),
    "GET /api/v1/orders": get(f"{V1}/orders"),
    "GET /api/v1/orders/{order_id}": get(V1 + "/orders/{w.order_id}"),
    "GET /api/v1/orders/{order_id}/timeline": get(V1 + "/orders/{w.order_id}/timeline"),
    "GET /api/v1/orders/{order_id}/duplicates": get(V1 + "/orders/{w.order_id}/duplicates"),
    "GET /api/v1/orders/{order_id}/grade": get(V1 + "/orders/{w.order_id}/grade"),
    **{f"POST /api/v1/orders/{{order_id}}/{action}": order_action_call(action) for action in ORDER_ACTIONS},
    # places and people
    "GET /api/v1/places": get(f"{V1}/places"),
    "GET /api/v1/places/{code}": get(f"{V1}/places/B1"),
    "PUT /api/v1/places": put_back(f"{V1}/places"),
    "GET /api/v1/departments": get(f"{V1}/departments"),
    "PUT /api/v1/departments": put_back(f"{V1}/departments", "text/csv"),
    "GET /api/v1/staff": get(f"{V1}/staff"),
    "GET /api/v1/staff.csv": get(f"{V1}/staff.csv"),
    "PUT /api/v1/staff": put_back(f"{V1}/staff", "text/csv", f"{V1}/staff.csv"),
    "GET /api/v1/ab-pairs": get(f"{V1}/ab-pairs"),
    "PUT /api/v1/ab-pairs": put_back(f"{V1}/ab-pairs", "text/csv"),
    "GET /api/v1/roster": get(f"{V1}/roster"),
    "POST /api/v1/roster": lambda w, c: Call(
        f"{V1}/roster",
        content=f"staff,post,start,end,area\nH1,hotline_handler,2026-12-{1 + w.n() % 28:02d}T07:00:00+08:00,"
        f"2026-12-{1 + w.n() % 28:02d}T08:00:00+08:00,\n".encode(),
        headers={"Content-Type": "text/csv"},
    ),
    "GET /api/v1/on-duty": get(f"{V1}/on-duty"),
    "POST /api/v1/checkins": lambda w, c: Call(f"{V1}/checkins", json={"position": HERE}),
    "GET /api/v1/absences": get(f"{V1}/absences"),
    "POST /api/v1/absences": new_absence,
    "DELETE /api/v1/absences/{absence_id}": fresh_absence,
    # configuration
    "GET /api/v1/streets": get(f"{V1}/streets"),
    "GET /api/v1/categories": get(f"{V1}/categories"),
    "PUT /api/v1/categories": lambda w, c: Call(
        f"{V1}/categories", json=[x.to_dict() for x in w.center.orders.catalogue(STREET)]
    ),
    "GET /api/v1/deadline-policies": get(f"{V1}/deadline-policies"),
    "PUT /api/v1/deadline-policies": put_back(f"{V1}/deadline-policies"),
    "GET /api/v1/grading-rules": get(f"{V1}/grading-rules"),
    "PUT /api/v1/grading-rules": put_back(f"{V1}/grading-rules"),
    "POST /api/v1/grading-rules/dry-run": lambda w, c: Call(
        f"{V1}/grading-rules/dry-run", json={"since": T0.isoformat(), "until": NOW.isoformat()}
    ),
    "GET /api/v1/supervision-rules": get(f"{V1}/supervision-rules"),
    "PUT /api/v1/supervision-rules": put_back(f"{V1}/supervision-rules"),
    "GET /api/v1/notification-rules": get(f"{V1}/notification-rules"),
    "PUT /api/v1/notification-rules": put_back(f"{V1}/notification-rules"),
    # tokens
    "GET /api/v1/me": get(f"{V1}/me"),
    "POST /api/v1/tokens": lambda w, c: Call(f"{V1}/tokens", json={"role": "duty_officer", "staff_id": "O1"}),
    "GET /api/v1/tokens": get(f"{V1}/tokens"),
    "DELETE /api/v1/tokens/{token_id}": fresh_token,
    "GET /api/v1/audit": get(f"{V1}/audit"),
    # intake helpers
    "GET /api/v1/events": get(f"{V1}/events", after=0),
    "POST /api/v1/geocode": lambda w, c: Call(
        f"{V1}/geocode", json={"address": "愚园路608弄6号", "street": STREET}
    ),
    "POST /api/v1/classify": lambda w, c: Call(f"{V1}/classify", json={"text": "路灯不亮", "street": STREET}),
    "POST /api/v1/classifier/examples": lambda w, c: Call(
        f"{V1}/classifier/examples", json={"text": "人行道地砖松动", "code": "200101", "street": STREET}
    ),
    "POST /api/v1/classifier/retrain": lambda w, c: Call(f"{V1}/classifier/retrain", json={"street": STREET}),
    "POST /api/v1/routing/preview": lambda w, c: Call(
        f"{V1}/routing/preview", json={"area": "A1", "street": STREET}
    ),
    # sensors
    "POST /api/v1/readings": lambda w, c: Call(
        f"{V1}/readings", json=[{"sensor_id": "W1", "ts": NOW.isoformat(), "values": {"level": 3.5}}]
    ),
    "GET /api/v1/sensors": get(f"{V1}/sensors"),
    "GET /api/v1/sensors/export": get(f"{V1}/sensors/export"),
    "PUT /api/v1/sensors": put_back(f"{V1}/sensors", None, f"{V1}/sensors/export", format="geojson"),
    "PUT /api/v1/sensors/csv": lambda w, c: Call(
        f"{V1}/sensors/csv", content=SENSORS_CSV.encode(), headers={"Content-Type": "text/csv"}
    ),
    "GET /api/v1/sensors/{sensor_id}": get(f"{V1}/sensors/W1"),
    "GET /api/v1/sensors/{sensor_id}/series": get(f"{V1}/sensors/W1/series", quantity="level"),
    "GET /api/v1/alarms": get(f"{V1}/alarms"),
    "GET /api/v1/alarms/{alarm_id}": lambda w, c: Call(f"{V1}/alarms/{w.alarm_id}"),
    "POST /api/v1/alarms/{alarm_id}/acknowledge": acknowledge,
    "GET /api/v1/dead-letters": get(f"{V1}/dead-letters"),
    # the wall screen, the twin, figures
    "GET /api/v1/screen/overview": get(f"{V1}/screen/overview"),
    "GET /api/v1/screen/orders": get(f"{V1}/screen/orders"),
    "GET /api/v1/screen/sensors": get(f"{V1}/screen/sensors"),
    "GET /api/v1/twin/places/{code}": get(f"{V1}/twin/places/B1"),
    "GET /api/v1/twin/nearest": get(f"{V1}/twin/nearest", lon=121.442, lat=31.225),
    "GET /api/v1/twin/areas/{code}": get(f"{V1}/twin/areas/A1"),
    "GET /api/v1/twin/snapshot": get(f"{V1}/twin/snapshot"),
    "GET /api/v1/assessment": get(f"{V1}/assessment"),
    "GET /api/v1/assessment/export": get(f"{V1}/assessment/export", format="html"),
    "GET /api/v1/analysis/hotspots": get(f"{V1}/analysis/hotspots"),
    "GET /api/v1/analysis/recurrences": get(f"{V1}/analysis/recurrences"),
    "GET /api/v1/analysis/trends": get(f"{V1}/analysis/trends"),
    "GET /api/v1/analysis/brief": get(f"{V1}/analysis/brief"),
    # supervision and notifications
    "POST /api/v1/notices": lambda w, c: Call(
        f"{V1}/notices", json={"order_ids": [w.order_id], "note": "超期未处置，予以通报"}
    ),
    "GET /api/v1/notices": get(f"{V1}/notices"),
    "GET /api/v1/board": get(f"{V1}/board"),
    "GET /api/v1/notifications": get(f"{V1}/notifications"),
    "POST /api/v1/notifications/read": lambda w, c: Call(f"{V1}/notifications/read", json={}),
    "GET /api/v1/notifications/deliveries": get(f"{V1}/notifications/deliveries"),
    # community programs, staff side
    "GET /api/v1/community/summary": get(f"{V1}/community/summary"),
    "GET /api/v1/community/files/{kind}": get(f"{V1}/community/files/orgs"),
    "PUT /api/v1/community/files/{kind}": put_back(f"{V1}/community/files/orgs", "text/csv"),
    "POST /api/v1/community/accounts": lambda w, c: Call(f"{V1}/community/accounts", json={"org": "barber"}),
    "GET /api/v1/community/account": get(f"{V1}/community/account"),
    "GET /api/v1/community/bookings": get(f"{V1}/community/bookings", since=MARKET_DAY),
    "POST /api/v1/community/bookings/{booking_id}/attend": attend,
    "GET /api/v1/community/market-figures": get(f"{V1}/community/market-figures"),
    "GET /api/v1/community/volunteer-shifts/{shift}/signups": get(
        f"{V1}/community/volunteer-shifts/SH2/signups"
    ),
    "POST /api/v1/community/volunteer-signups/{signup_id}/check-in": check_in,
    "POST /api/v1/community/volunteer-signups/{signup_id}/check-out": check_out,
    "GET /api/v1/community/volunteer-hours": get(f"{V1}/community/volunteer-hours"),
    "GET /api/v1/community/job-applications": get(f"{V1}/community/job-applications"),
    "POST /api/v1/community/job-applications/{application_id}/status": move_application,
    "GET /api/v1/community/job-figures": get(f"{V1}/community/job-figures"),
    "GET /api/v1/community/renovation/projects": get(f"{V1}/community/renovation/projects"),
    "GET /api/v1/community/renovation/projects/{code}": get(f"{V1}/community/renovation/projects/R1"),
    "POST /api/v1/community/renovation/projects/{code}/households/{household}": sign_household,
    "POST /api/v1/community/renovation/projects/{code}/milestones/{milestone}": milestone,
    "GET /api/v1/community/party/units": get(f"{V1}/community/party/units"),
    "GET /api/v1/community/party/responsible": get(f"{V1}/community/party/responsible", building="B1"),
    # community programs, residents' side (no token)
    "GET /api/v1/community/public/markets": get(f"{V1}/community/public/markets"),
    "GET /api/v1/community/public/markets/{market}/sessions/{day}": get(
        f"{V1}/community/public/markets/M1/sessions/{MARKET_DAY}"
    ),
    "POST /api/v1/community/public/bookings": lambda w, c: Call(
        f"{V1}/community/public/bookings",
        json={"stall": "S3", "day": MARKET_DAY, "name": RESIDENT_NAMES[0], "phone": w.phone()},
    ),
    "GET /api/v1/community/public/bookings/{code}": lambda w, c: Call(
        f"{V1}/community/public/bookings/{w.booking['code']}"
    ),
    "POST /api/v1/community/public/bookings/{code}/cancel": public_cancel(
        "bookings",
        lambda w: {"stall": "S3", "day": MARKET_DAY, "name": RESIDENT_NAMES[0], "phone": w.phone()},
        "cancel",
    ),
    "GET /api/v1/community/public/volunteer-shifts": get(f"{V1}/community/public/volunteer-shifts"),
    "POST /api/v1/community/public/volunteer-signups": lambda w, c: Call(
        f"{V1}/community/public/volunteer-signups",
        json={"shift": "SH2", "name": RESIDENT_NAMES[1], "phone": w.phone()},
    ),
    "GET /api/v1/community/public/volunteer-signups/{code}": lambda w, c: Call(
        f"{V1}/community/public/volunteer-signups/{w.kept(lambda: w.public('volunteer-signups', {'shift': 'SH2', 'name': RESIDENT_NAMES[1], 'phone': w.phone()}))['code']}"
    ),
    "POST /api/v1/community/public/volunteer-signups/{code}/cancel": public_cancel(
        "volunteer-signups",
        lambda w: {"shift": "SH2", "name": RESIDENT_NAMES[1], "phone": w.phone()},
        "cancel",
    ),
    "GET /api/v1/community/public/job-posts": get(f"{V1}/community/public/job-posts"),
    "POST /api/v1/community/public/job-applications": lambda w, c: Call(
        f"{V1}/community/public/job-applications",
        json={"post": "J3", "name": RESIDENT_NAMES[2], "phone": w.phone()},
    ),
    "GET /api/v1/community/public/job-applications/{code}": lambda w, c: Call(
        f"{V1}/community/public/job-applications/{w.kept(lambda: w.public('job-applications', {'post': 'J3', 'name': RESIDENT_NAMES[2], 'phone': w.phone()}))['code']}"
    ),
    "POST /api/v1/community/public/job-applications/{code}/withdraw": public_cancel(
        "job-applications",
        lambda w: {"post": "J3", "name": RESIDENT_NAMES[2], "phone": w.phone()},
        "withdraw",
    ),
    # Open311: the caller's token as api_key
    "GET /open311/v2/discovery.{fmt}": get("/open311/v2/discovery.json"),
    "GET /open311/v2/services.{fmt}": get("/open311/v2/services.json"),
    "GET /open311/v2/services/{code}.{fmt}": get("/open311/v2/services/200101.json"),
    "GET /open311/v2/service/{code}.{fmt}": get("/open311/v2/service/200101.xml"),
    "GET /open311/v2/requests.{fmt}": get("/open311/v2/requests.json"),
    "GET /open311/v2/requests/{request_id}.{fmt}": lambda w, c: Call(
        f"/open311/v2/requests/{w.open311['service_request_id']}.json"
    ),
    "GET /open311/v2/tokens/{token}.{fmt}": lambda w, c: Call(
        f"/open311/v2/tokens/{w.open311['token']}.json"
    ),
    "POST /open311/v2/requests.{fmt}": open311_post,
    **{
        f"{m} /open311/v2/{{rest:path}}": get("/open311/v2/nothing-here.json")
        for m in ("DELETE", "GET", "PATCH", "POST", "PUT")
    },
    # the pages and the documentation
    "GET /api/v1/health": get(f"{V1}/health"),
    **{
        f"GET {p}": get(p)
        for p in (
            "/",
            "/board",
            "/community",
            "/intake",
            "/jobfair",
            "/market",
            "/partygrid",
            "/renovation",
            "/reports",
            "/screen",
            "/stall",
            "/tasks",
            "/volunteers",
        )
    },
    "GET /static": get("/static/common.js"),
    "GET /openapi.json": get("/openapi.json"),
    "GET /docs": get("/docs"),
    "GET /docs/oauth2-redirect": get("/docs/oauth2-redirect"),
    "GET /redoc": get("/redoc"),
}


# --- the walk -------------------------------------------------------------------------------------------


@dataclass
class Answer:
    outcome: Outcome
    text: str


def send(w: Walk, method: str, call: Call, caller: str, street_param: bool) -> Answer:
    params = dict(call.params)
    if street_param:
        params.setdefault("street", STREET)
    headers = dict(call.headers)
    data = dict(call.data) if call.data is not None else None
    token = w.tokens.get(caller)
    if call.api_key:
        if token and data is not None:
            data["api_key"] = token
        elif token:
            params["api_key"] = token
    else:
        headers |= w.auth(caller)
    client = w.api.client
    if call.url == f"{V1}/events":
        with client.stream(method, call.url, params=params, headers=headers) as response:
            if response.status_code >= 300:
                return Answer(_outcome(response), response.read().decode())
            text, last = "", f"id: {w.last_event()}\n"
            for chunk in response.iter_text():  # the street's feed ends with the last event
                text += chunk
                if caller == "outsider" or last in text:
                    break
            return Answer(_outcome(response), text)
    response = client.request(
        method, call.url, params=params, headers=headers, json=call.json, content=call.content, data=data
    )
    return Answer(_outcome(response), response.text if _is_text(response) else "")


def _outcome(response: httpx.Response) -> Outcome:
    return (
        "ok"
        if response.status_code < 300 or response.status_code in (301, 302, 303, 307, 308)
        else response.status_code
    )


def _is_text(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "")
    return kind.startswith(("application/json", "text/", "application/xml", "application/geo+json"))


def leaks(caller: str, text: str) -> list[str]:
    """What of the contacts `caller` may not see is in `text`."""
    found = []
    if caller not in SEES_COMPLAINANTS:
        found += [s for s in COMPLAINANT if s in text]
    if caller not in SEES_RESIDENTS:
        found += [s for s in (*RESIDENT_NAMES, HOUSEHOLD_PHONE, PARTY_PHONE, "13700") if s in text]
    return found


def street_params(app: Any) -> set[str]:
    """The routes (as "METHOD path") with a `street` query parameter."""
    found = set()
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if any(p["name"] == "street" and p["in"] == "query" for p in operation.get("parameters", [])):
                found.add(f"{method.upper()} {path}")
    return found


def test_every_route_answers_every_caller_as_decided(api: Api, center: Center, clock: ManualClock) -> None:
    walk = Walk(api, center, clock)
    app = api.client.app
    routes = app_routes(app)
    with_street = street_params(app)
    observed: dict[str, dict[str, Outcome]] = {}
    failures: list[str] = []
    for method, path in routes:
        key = f"{method} {path}"
        build = REQUESTS.get(key)
        if build is None:
            failures.append(f"{key}: no request in REQUESTS")
            continue
        walk.route = key
        row: dict[str, Outcome] = {}
        for caller in CALLERS:
            call = build(walk, caller)
            answer = send(walk, method, call, caller, key in with_street)
            clock.set(NOW)
            row[caller] = answer.outcome
            if isinstance(answer.outcome, int) and answer.outcome >= 500:
                failures.append(f"{key} as {caller}: {answer.outcome} {answer.text[:200]}")
            if answer.outcome == "ok":
                walk.used_up()
            leaked = leaks(caller, answer.text) if path.startswith(("/api/", "/open311/")) else []
            if leaked:
                failures.append(f"{key} as {caller} shows {leaked}")
        observed[key] = row
    assert failures == [], "\n".join(failures)
    assert len(routes) >= 160
    assert set(observed) == set(EXPECTED), "routes walked and routes decided differ"
    # as (route, caller): (what came, what was decided), the differences only
    differences = {
        (route, caller): (got, EXPECTED[route][caller])
        for route, row in observed.items()
        for caller, got in row.items()
        if got != EXPECTED[route][caller]
    }
    assert differences == {}


def test_a_street_admin_lists_issues_and_revokes_only_its_own_streets_tokens(
    api: Api, center: Center
) -> None:
    other = Actor(Role.ADMIN, frozenset({"X"}), None, "另一街道管理员", "x-admin")
    center.directory.import_departments(other, "X", "code,name,kind\nchengyun,城运中心,internal\n")
    center.directory.import_staff(
        other, "X", "id,name,phone,department,posts\nXD1,孔明,13900000099,chengyun,director\n"
    )
    district, _ = center.auth.issue(Role.ADMIN, [], name="区管理员")
    _, x_director = center.auth.issue(Role.DIRECTOR, ["X"], "XD1")
    district_id = api.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {district}"}).json()
    assert district_id["streets"] == []
    ids = {t["id"] for t in api.get("/tokens", "admin").json()}
    everyone = {
        t["id"]: t
        for t in api.client.get(f"{V1}/tokens", headers={"Authorization": f"Bearer {district}"}).json()
    }
    theirs = {i for i, t in everyone.items() if t["streets"] != ["T"]}
    assert x_director.id in theirs and len(theirs) == 2  # the district admin's own token and X's director
    assert ids == set(everyone) - theirs  # a street admin lists only its street's tokens

    for token_id in theirs:  # nor revokes the others: they are not there for it
        assert_error(api.delete(f"/tokens/{token_id}", "admin"), 404, "not_found")
    assert api.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {district}"}).status_code == 200
    # nor binds a token to another street's person, nor gives a token another street
    assert_error(api.post("/tokens", "admin", json={"role": "director", "staff_id": "XD1"}), 404, "not_found")
    assert_error(
        api.post("/tokens", "admin", json={"role": "duty_officer", "streets": ["X"]}), 403, "forbidden"
    )
    # the district admin may do all of it
    by_district = {"Authorization": f"Bearer {district}"}
    issued = api.client.post(
        f"{V1}/tokens", headers=by_district, json={"role": "director", "staff_id": "XD1"}
    )
    assert (issued.status_code, issued.json()["streets"]) == (201, ["X"])
    assert api.client.delete(f"{V1}/tokens/{x_director.id}", headers=by_district).status_code == 204
