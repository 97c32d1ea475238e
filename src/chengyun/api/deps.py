"""Request dependencies: the running center and the authenticated actor, as Annotated aliases."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool

from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, require_street
from chengyun.domain.errors import InvalidInput, Unauthenticated


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the thread pool,
# a thread hop per dependency per request. Only a token not seen lately goes to the database, off the loop.
async def get_center(request: Request) -> Center:
    center: Center = request.app.state.center
    return center


class BearerActor(SecurityBase):
    """The caller, from `Authorization: Bearer <token>` (or `?access_token=`: EventSource cannot send
    headers, so the live feed may pass the token in the query).

    One dependency that reads the request itself: FastAPI's generic machinery for a bearer scheme, a
    query parameter and the center as separate dependencies cost a quarter of a bare request. Being a
    security scheme, it still documents the bearer scheme in OpenAPI as `HTTPBearer`."""

    def __init__(self, description: str) -> None:
        self.model = HTTPBearerModel(description=description)
        self.scheme_name = "HTTPBearer"

    async def __call__(self, request: Request) -> Actor:
        scheme, credentials = get_authorization_scheme_param(request.headers.get("Authorization"))
        if credentials and scheme.lower() == "bearer":
            token: str | None = credentials
        else:
            token = request.query_params.get("access_token")
        center: Center = request.app.state.center
        actor = center.auth.authenticate_cached(token)
        if actor is not None:
            return actor
        # A token not seen lately: a client with too many failed ones lately waits (429), its tokens not
        # even looked up. A token seen lately (above) still works: people behind the same address.
        failures = center.auth.failures
        client = request.client.host if request.client else ""
        wait = failures.wait(client)
        if wait is not None:
            seconds = math.ceil(wait)
            raise HTTPException(
                429,
                f"令牌验证失败次数过多，请 {seconds} 秒后再试",
                headers={"Retry-After": str(seconds)},
            )
        try:
            return await run_in_threadpool(center.auth.authenticate, token)
        except Unauthenticated:
            failures.record(client)
            raise


get_actor = BearerActor("访问令牌（chengyun token create 签发）")


CenterDep = Annotated[Center, Depends(get_center)]
ActorDep = Annotated[Actor, Depends(get_actor)]


def street_of(actor: Actor, street: str | None) -> str:
    """The street a request is about: the given one, or the caller's only street."""
    if street:
        require_street(actor, street)
        return street
    if len(actor.streets) == 1:
        (only,) = actor.streets
        return only
    raise InvalidInput("请用 street 参数指明街道", code="street_required")


def street_or_only(center: Center, actor: Actor, street: str | None) -> str:
    """`street_of`, and for a district admin who names none: the database's street when it holds just
    one (the wall screen and the board of a one-street deployment need no `?street=`)."""
    if street or not actor.is_district:
        return street_of(actor, street)
    with center.uow() as uow:
        codes = [code for code, _ in uow.config.streets()]
    if len(codes) == 1:
        return codes[0]
    raise InvalidInput(
        "本系统有多个街道，请用 street 参数指明街道：" + "、".join(codes) if codes else "尚未导入任何街道",
        code="street_required",
        streets=codes,
    )
