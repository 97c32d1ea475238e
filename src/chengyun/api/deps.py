"""Request dependencies: the running center and the authenticated actor, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, require_street
from chengyun.domain.errors import InvalidInput

bearer = HTTPBearer(auto_error=False, description="访问令牌（chengyun token create 签发）")


def get_center(request: Request) -> Center:
    center: Center = request.app.state.center
    return center


def get_actor(
    center: Annotated[Center, Depends(get_center)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    access_token: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> Actor:
    # EventSource cannot send headers, so the live feed may pass the token as ?access_token=.
    token = credentials.credentials if credentials else access_token
    return center.auth.authenticate(token)


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
