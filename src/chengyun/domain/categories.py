"""The category catalogue: what a problem is (部件, 事件, 12345 matters), its owner and default colour."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import ImportRejected, NotFound
from chengyun.domain.severity import Colour


class CategoryKind(StrEnum):
    COMPONENT = "component"  # 部件 (GB/T 30428.2)
    EVENT = "event"  # 事件 (GB/T 30428.2)
    MATTER = "matter"  # 12345 诉求类（扩展）


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    kind: CategoryKind
    major: str  # 大类 name, e.g. 公用设施 / 市容环境
    department: str  # responsible department code
    colour: Colour  # default severity
    keywords: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind.value,
            "major": self.major,
            "department": self.department,
            "colour": self.colour.value,
            "keywords": list(self.keywords),
        }


class Catalogue:
    def __init__(self, categories: Iterable[Category]) -> None:
        self._by_code = {c.code: c for c in categories}

    def __iter__(self) -> Any:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Category:
        try:
            return self._by_code[code]
        except KeyError:
            raise NotFound(f"类别 {code} 不存在", category=code) from None


def categories_from_dicts(items: Sequence[Mapping[str, Any]]) -> list[Category]:
    errors: list[dict[str, Any]] = []
    out: list[Category] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        try:
            code = str(item["code"]).strip()
            if not code or code in seen:
                raise ValueError(f"编码为空或重复：{code!r}")
            category = Category(
                code=code,
                name=str(item["name"]).strip(),
                kind=CategoryKind(item.get("kind", "event")),
                major=str(item.get("major", "")),
                department=str(item.get("department", "chengyun")),
                colour=Colour(item.get("colour", "blue")),
                keywords=tuple(str(k) for k in item.get("keywords", ())),
            )
            if not category.name:
                raise ValueError("名称为空")
        except (KeyError, TypeError, ValueError) as exc:
            errors.append({"row": i, "reason": str(exc)})
            continue
        seen.add(code)
        out.append(category)
    if errors:
        raise ImportRejected(f"类别目录有 {len(errors)} 处错误，未导入任何数据", errors=errors)
    return out
