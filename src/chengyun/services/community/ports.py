"""The storage port of the community programs: one record store for the programs' plain records.

Records are the frozen or plain dataclasses of domain/community: reference data keyed by street and code
(an organisation, a market, a household of a project …) and entries with a numeric id and a random lookup
code (a booking, a sign-up, an application)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

R = TypeVar("R")


class CommunityRepository(Protocol):
    def save(self, records: Sequence[Any]) -> int:
        """Insert or replace records of one kind by their key; returns how many."""

    def replace(self, kind: type[Any], street: str, records: Sequence[Any]) -> int:
        """The street's records of `kind` become exactly `records`."""

    def add(self, entry: R) -> R:
        """Insert a new entry (its id None) and return it with its id. Conflict when the store's own
        guard refuses it (a second active booking of one resident at one stall and session)."""

    def add_all(self, entries: Sequence[Any]) -> int:
        """Insert new entries of one kind in one go (ids are not needed back): imported registers."""

    def find(
        self,
        kind: type[R],
        street: str,
        *,
        where: Mapping[str, object] | None = None,
        between: tuple[str, object, object] | None = None,
        lock: bool = False,
    ) -> list[R]:
        """The street's records of `kind` whose fields equal `where` (a list or set: any of them), and
        whose field `between[0]` lies within `between[1]..between[2]` (both included); by key.
        `lock`: locked for this transaction (PostgreSQL; SQLite has one writer anyway)."""

    def get(self, kind: type[R], street: str | None, code: str, *, lock: bool = False) -> R:
        """One record by its code (in any street when `street` is None); NotFound when there is none."""

    def account(self, token_id: str) -> tuple[str, str] | None:
        """(street, organisation) a stall holder's token speaks for."""

    def bind_account(self, token_id: str, street: str, org: str) -> None: ...
