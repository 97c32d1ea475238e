"""Every error leaves as JSON with a machine-readable code and a Chinese message; never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from chengyun.adapters.db.repositories import is_unavailable, unavailable
from chengyun.domain.errors import (
    Conflict,
    DomainError,
    IllegalTransition,
    ImportRejected,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

STATUS = {
    InvalidInput: 422,
    ImportRejected: 422,
    NotFound: 404,
    PermissionDenied: 403,
    Unauthenticated: 401,
    IllegalTransition: 409,
    Conflict: 409,
    Unavailable: 503,
}

HTTP_MESSAGES = {
    400: ("bad_request", "请求格式错误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("too_many_requests", "请求过于频繁"),
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = jsonable_encoder(details)
    return {"error": body}


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def headers_of(exc: DomainError) -> dict[str, str] | None:
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, Unavailable):
        return {"Retry-After": str(exc.details.get("retry_after", 1))}
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        details = dict(exc.details)
        code = str(details.pop("code", exc.code))
        return JSONResponse(error_body(code, exc.message, details), status_of(exc), headers=headers_of(exc))

    @app.exception_handler(SQLAlchemyError)
    async def storage_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        # What a route reached without the repositories' translation: a lost database is still a 503.
        if is_unavailable(exc):
            return await domain_error(request, unavailable(exc))
        return await unexpected(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "reason": e.get("msg", "")}
            for e in exc.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            # The location of a JSON syntax error is a character offset, not a field.
            return JSONResponse(error_body("invalid_request", "请求体不是合法的 JSON"), 422)
        fields = "、".join(p["field"] for p in problems if p["field"]) or "请求体"
        return JSONResponse(
            error_body("invalid_request", f"请求参数有误：{fields}", {"errors": problems}), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = HTTP_MESSAGES.get(exc.status_code, ("http_error", "请求失败"))
        if isinstance(exc.detail, str) and exc.detail and not exc.detail.isascii():
            message = exc.detail
        return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "服务器内部错误，请稍后重试"), 500)


class RefuseNul:
    """ASGI middleware: PostgreSQL cannot store or compare text with NUL characters, so a path or query
    holding one is refused with a 422 before routing (as middleware, not a dependency: it costs nothing
    on the hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _holds_nul(scope):
            body = error_body("invalid_request", "请求地址中不能含有 NUL 字符")
            await JSONResponse(body, 422)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _holds_nul(scope: Scope) -> bool:
    path = scope.get("raw_path") or scope.get("path", "").encode()
    query: bytes = scope.get("query_string", b"")
    return any(b"\x00" in part or b"%00" in part for part in (path, query.lower()))
