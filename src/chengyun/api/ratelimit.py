"""Rate limits on what anyone may call without a token: Open311, the residents' community routes and the
health check. Each client (its address; an IPv6 address by its /64, the block one subscriber gets) may
make so many reads and, fewer, writes a minute; past that it gets `429 too_many_requests` with
`Retry-After` and a Chinese message (on Open311, the spec's `[{"code": 429, "description"}]`).

A request with a staff member's working token (`Authorization: Bearer`) is not counted: the limit is for
the public. Open311's `api_key` does not exempt: it is the key of an app that every citizen using it
shares. The pages, their scripts and the documentation are not limited: they read no data.

The count is kept in this process, in real seconds whatever the center's clock (the same sliding window
as the failed-token limit, `services.throttle.SlidingWindow`): with `serve --workers N` each process counts
its own. Behind a reverse proxy the address is the one uvicorn takes from `X-Forwarded-For` (trusted from
`FORWARDED_ALLOW_IPS`, by default 127.0.0.1 only).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from fastapi.responses import JSONResponse
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from chengyun.api.errors import error_body
from chengyun.api.open311_format import error_response
from chengyun.api.schemas import ERROR_RESPONSES, OPEN311_ERROR_RESPONSES, ErrorOut, Open311ErrorOut
from chengyun.bootstrap import Center
from chengyun.domain.errors import Unauthenticated, Unavailable
from chengyun.services.auth import TOKEN_PREFIX
from chengyun.services.throttle import SlidingWindow
from chengyun.settings import Settings

WINDOW_S = 60.0
OPEN311 = "/open311/"
COMMUNITY_PUBLIC = "/api/v1/community/public"
HEALTH = "/api/v1/health"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Kind(Enum):
    READ = "read"
    WRITE = "write"


WORDS = {Kind.READ: "查询", Kind.WRITE: "提交"}


class PublicLimits:
    """The limits of one process: reads and writes per client and minute; 0 is no limit."""

    def __init__(
        self, reads_per_minute: int, writes_per_minute: int, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = {Kind.READ: reads_per_minute, Kind.WRITE: writes_per_minute}
        self._windows = {
            kind: SlidingWindow(limit, WINDOW_S, now) for kind, limit in self.per_minute.items() if limit > 0
        }

    @classmethod
    def of(cls, settings: Settings) -> PublicLimits:
        return cls(settings.public_reads_per_minute, settings.public_writes_per_minute)

    def take(self, kind: Kind, client: str) -> float | None:
        window = self._windows.get(kind)
        return None if window is None else window.take(client)


def kind_of(method: str, path: str) -> Kind | None:
    """Whether a request is a public read or write, or None: not limited here (it needs a token, or
    reads no data: pages, scripts, documentation)."""
    if path.startswith(OPEN311) or path == HEALTH or path.startswith(COMMUNITY_PUBLIC + "/"):
        return Kind.READ if method in READ_METHODS else Kind.WRITE
    return None


def client_key(host: str) -> str:
    """Whom a limit counts: the address; for IPv6 its /64 (a subscriber's block, not one address)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


class PublicRateLimit:
    """ASGI middleware: counts the public requests (`kind_of`) of each client against
    `state.public_limits` and answers 429 past the limit; everything else passes untouched."""

    def __init__(self, app: ASGIApp, center: Center, state: State) -> None:
        self.app = app
        self.center = center
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = kind_of(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        if await self._staff(scope, client):
            await self.app(scope, receive, send)
            return
        limits: PublicLimits = self.state.public_limits
        wait = limits.take(kind, client_key(client))
        if wait is None:
            await self.app(scope, receive, send)
            return
        seconds = math.ceil(wait)
        most = limits.per_minute[kind]
        message = f"请求过于频繁：每个地址每分钟最多{WORDS[kind]} {most} 次，请 {seconds} 秒后再试"
        headers = {"Retry-After": str(seconds)}
        path: str = scope["path"]
        if path.startswith(OPEN311):
            response = error_response("xml" if path.endswith(".xml") else "json", 429, message)
            response.headers.update(headers)
        else:
            response = JSONResponse(error_body("too_many_requests", message), 429, headers=headers)
        await response(scope, receive, send)

    async def _staff(self, scope: Scope, client: str) -> bool:
        """Whether the request carries a working token (a staff member's, a system's). Only what looks
        like one of this system's tokens is looked up (pages send `Bearer null` when logged out), and not
        for a client whose tokens failed too often lately; a failed one counts as such."""
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if header is None:
            return False
        scheme, token = get_authorization_scheme_param(header.decode("latin-1"))
        if scheme.lower() != "bearer" or not token:
            return False
        auth = self.center.auth
        try:
            if auth.authenticate_cached(token) is not None:
                return True
        except Unauthenticated:
            return False
        if not token.startswith(TOKEN_PREFIX) or auth.failures.wait(client) is not None:
            return False
        try:
            await run_in_threadpool(auth.authenticate, token)
        except Unauthenticated:
            auth.failures.record(client)
            return False
        except Unavailable:  # the database unreachable: the route answers for itself (a 503, not a 500)
            return True
        return True


def _limited(model: object, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        429: {
            "model": model,
            "description": description,
            "headers": {
                "Retry-After": {"description": "几秒后可以再试", "schema": {"type": "integer", "minimum": 1}}
            },
        }
    }


# The 429 of the public routes, in their documentation (it replaces the app-wide 429 of failed tokens).
RATE_LIMITED_RESPONSES = _limited(
    ErrorOut, "请求过于频繁（每个地址每分钟的公开查询、提交次数有上限），请按 Retry-After 秒数后重试"
)
OPEN311_RATE_LIMITED_RESPONSES = _limited(
    list[Open311ErrorOut], "请求过于频繁（每个地址每分钟的查询、提交次数有上限），请按 Retry-After 秒数后重试"
)
# What a route reachable without a token documents: every refusal, the rate limit's included.
PUBLIC_RESPONSES = ERROR_RESPONSES | RATE_LIMITED_RESPONSES
OPEN311_RESPONSES = OPEN311_ERROR_RESPONSES | OPEN311_RATE_LIMITED_RESPONSES
