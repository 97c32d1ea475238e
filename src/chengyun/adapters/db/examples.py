"""Storage of the classifier's training examples (dispatchers' corrections), per street."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from chengyun.adapters.db import tables as t
from chengyun.adapters.db.repositories import _Repository
from chengyun.services.ports import Example


class SqlExampleRepository(_Repository):
    def add(self, street: str, text: str, code: str, by: str, at: datetime) -> int:
        row = {"street": street, "text": text, "code": code, "by": by, "created_at": at}
        result = self._run(insert(t.training_examples).returning(t.training_examples.c.id), row)
        return int(result.scalar_one())

    def list(self, street: str) -> list[Example]:
        c = t.training_examples.c
        rows = self._run(select(c.text, c.code).where(c.street == street).order_by(c.id))
        return [Example(r.text, r.code) for r in rows]
