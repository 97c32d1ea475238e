"""Bearer tokens: issue, authenticate, revoke. Tokens are random; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from chengyun.domain.access import Actor, Role, require_street, sees_token
from chengyun.domain.errors import InvalidInput, NotFound, Unauthenticated
from chengyun.domain.staff import Post
from chengyun.services.audit import AuditAction, entry
from chengyun.services.ports import Clock, TokenRecord, UnitOfWorkFactory
from chengyun.services.throttle import SlidingWindow

TOKEN_PREFIX = "cy_"
_CACHE_S = 5.0


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FailedAttempts(SlidingWindow):
    """Failed token uses per client (its address): past `limit` within `window_s` seconds the client is
    told to wait (`wait`) until the oldest of them leaves the window; `record` counts a failure."""

    def __init__(
        self,
        limit: int = 20,
        window_s: float = 60.0,
        now: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        super().__init__(limit, window_s, now, max_clients)


class Auth:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, bootstrap_token: str | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._bootstrap = bootstrap_token or None
        self._cache: dict[str, tuple[float, Actor, datetime | None]] = {}
        self.failures = FailedAttempts()

    def issue(
        self,
        role: Role,
        streets: Iterable[str] = (),
        staff_id: str | None = None,
        name: str = "",
        ttl_days: float | None = None,
        by: Actor | None = None,
    ) -> tuple[str, TokenRecord]:
        """Create a token; the plain token is returned once and never stored. `by`, the admin issuing it
        (None: the command line), may give only its own streets and bind only its own streets' people."""
        street_set = frozenset(streets)
        if by is not None:
            for street in street_set:
                require_street(by, street)
        with self._uow() as uow:
            if staff_id is not None:
                person = uow.people.get_staff(staff_id)
                if by is not None and not by.sees_street(person.street):
                    raise NotFound(f"人员 {staff_id} 不存在")
                post = _post_of(role)
                if post is not None and post not in person.posts:
                    raise InvalidInput(f"{person.name} 没有{post.label}岗位，不能签发该角色的令牌")
                street_set = street_set or frozenset({person.street})
                name = name or person.name
            elif role in (
                Role.AREA_MANAGER,
                Role.HOTLINE_HANDLER,
                Role.PATROL_OBSERVER,
                Role.CHIEF_RESPONDER,
            ):
                raise InvalidInput(f"{role.label}令牌必须绑定到人员（staff_id）")
            if role is not Role.ADMIN and not street_set:
                raise InvalidInput("非管理员令牌必须指明街道")
            now = self._clock.now()
            record = TokenRecord(
                id=uuid.uuid4().hex[:12],
                role=role.value,
                streets=street_set,
                staff_id=staff_id,
                name=name or role.label,
                created_at=now,
                expires_at=now + timedelta(days=ttl_days) if ttl_days else None,
            )
            token = TOKEN_PREFIX + secrets.token_urlsafe(32)
            uow.tokens.add(record, hash_token(token))
            details = {"role": record.role, "staff_id": staff_id, "name": record.name}
            uow.audit.add(
                [entry(by, now, AuditAction.TOKEN_ISSUED, f"token:{record.id}", street_set, **details)]
            )
            uow.commit()
        return token, record

    def authenticate(self, token: str | None) -> Actor:
        actor = self.authenticate_cached(token)
        if actor is not None:
            return actor
        assert token is not None
        digest = hash_token(token)
        with self._uow() as uow:
            record = uow.tokens.by_hash(digest)
        now = self._clock.now()
        if record is None or record.revoked_at is not None:
            raise Unauthenticated("访问令牌无效或已被吊销")
        if record.expires_at is not None and record.expires_at <= now:
            raise Unauthenticated("访问令牌已过期")
        actor = Actor(Role(record.role), record.streets, record.staff_id, record.name, record.id)
        self._cache[digest] = (time.monotonic(), actor, record.expires_at)
        return actor

    def authenticate_cached(self, token: str | None) -> Actor | None:
        """The actor if it can be told without the database (the bootstrap token, a recently seen
        token), else None; raises for a missing or expired token. Safe to call on an event loop."""
        if not token:
            raise Unauthenticated("请先登录：缺少访问令牌（Authorization: Bearer ...）")
        if self._bootstrap is not None and hmac.compare_digest(token, self._bootstrap):
            return Actor(Role.ADMIN, frozenset(), None, "初始管理员", "bootstrap")
        hit = self._cache.get(hash_token(token))
        if hit is None or time.monotonic() - hit[0] >= _CACHE_S:
            return None
        # The cache saves a query, not the expiry check: the clock may run fast (drills, tests).
        if hit[2] is not None and hit[2] <= self._clock.now():
            raise Unauthenticated("访问令牌已过期")
        return hit[1]

    def revoke(self, token_id: str, by: Actor | None = None) -> None:
        """Revoke a token; `by` (None: the command line) may revoke only the tokens it may list."""
        with self._uow() as uow:
            found = next((r for r in uow.tokens.list() if r.id == token_id), None)
            if found is None or (by is not None and not sees_token(by, found.streets)):
                raise NotFound(f"令牌 {token_id} 不存在")
            now = self._clock.now()
            uow.tokens.revoke(token_id, now)
            details = {"role": found.role, "staff_id": found.staff_id, "name": found.name}
            subject = f"token:{token_id}"
            uow.audit.add([entry(by, now, AuditAction.TOKEN_REVOKED, subject, found.streets, **details)])
            uow.commit()
        self._cache.clear()

    def tokens(self, by: Actor | None = None) -> list[TokenRecord]:
        """The tokens (never their secret); those `by` may see (None: all, for the command line)."""
        with self._uow() as uow:
            found = uow.tokens.list()
        return [r for r in found if by is None or sees_token(by, r.streets)]


def _post_of(role: Role) -> Post | None:
    try:
        return Post(role.value)
    except ValueError:
        return None
