"""Organisations in the street (驻区单位): hospitals, offices, companies and groups that run market stalls,
provide volunteers, offer jobs or take part in renovation projects. One registry for all programs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chengyun.domain.community.rows import Rows, row_number

ORG_COLUMNS = ("code", "name", "sector", "contact", "phone", "address")


@dataclass(frozen=True)
class Organisation:
    street: str
    code: str
    name: str
    sector: str  # 行业：专业服务, 文化创意, 商务商贸, 健康护理, 公共服务 …: job fair counts go by it
    contact: str = ""
    phone: str = ""
    address: str = ""


def orgs_from_rows(rows: Sequence[Mapping[str, str]], street: str) -> list[Organisation]:
    check = Rows()
    out: list[Organisation] = []
    for i, data in enumerate(rows):
        row = row_number(i)
        code = check.code(row, data)
        check.unique(row, "code", code)
        out.append(
            Organisation(
                street,
                code,
                check.text(row, data, "name"),
                check.text(row, data, "sector", required=False) or "其他",
                check.text(row, data, "contact", required=False, limit=40),
                check.phone(row, data, required=False),
                check.text(row, data, "address", required=False),
            )
        )
    check.check("驻区单位表")
    return out
