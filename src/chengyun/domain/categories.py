"""The category catalogue: what a problem is (部件, 事件, 12345 matters), its owner, colour and policy."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chengyun.domain.errors import ImportRejected, NotFound
from chengyun.domain.severity import Colour


class CategoryKind(StrEnum):
    COMPONENT = "component"  # 部件 (GB/T 30428.2)
    EVENT = "event"  # 事件 (GB/T 30428.2)
    MATTER = "matter"  # 12345 诉求类（扩展）


class Datatype(StrEnum):
    """Open311 GeoReport v2 attribute datatypes."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLE = "singlevaluelist"
    MULTI = "multivaluelist"


@dataclass(frozen=True)
class Attribute:
    """An extra question a category asks when a problem is reported (Open311 service attribute)."""

    code: str
    description: str  # the question, in Chinese
    datatype: Datatype = Datatype.STRING
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()  # (key, name) for the list datatypes

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": self.description,
            "datatype": self.datatype.value,
            "required": self.required,
            "values": [{"key": k, "name": n} for k, n in self.values],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attribute:
        code = str(data["code"]).strip()
        if not code:
            raise ValueError("附加问题编码为空")
        datatype = Datatype(data.get("datatype", "string"))
        values = tuple((str(v["key"]), str(v["name"])) for v in data.get("values", ()))
        if datatype in (Datatype.SINGLE, Datatype.MULTI) and not values:
            raise ValueError(f"附加问题 {code} 是选择题，但没有选项")
        return cls(code, str(data["description"]), datatype, bool(data.get("required", False)), values)


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    kind: CategoryKind
    major: str  # 大类 name, e.g. 公用设施 / 市容环境
    department: str  # responsible department code
    colour: Colour  # default severity
    keywords: tuple[str, ...] = ()
    policy: str | None = None  # deadline policy code; None: the policy set's matching decides
    description: str = ""
    attributes: tuple[Attribute, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind.value,
            "major": self.major,
            "department": self.department,
            "colour": self.colour.value,
            "keywords": list(self.keywords),
            "policy": self.policy,
            "description": self.description,
            "attributes": [a.to_dict() for a in self.attributes],
        }

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Category:
        policy = item.get("policy")
        attributes = tuple(Attribute.from_dict(a) for a in item.get("attributes") or ())
        if len({a.code for a in attributes}) != len(attributes):
            raise ValueError("附加问题编码重复")
        category = cls(
            code=str(item["code"]).strip(),
            name=str(item["name"]).strip(),
            kind=CategoryKind(item.get("kind", "event")),
            major=str(item.get("major", "")),
            department=str(item.get("department", "chengyun")),
            colour=Colour(item.get("colour", "blue")),
            keywords=tuple(str(k) for k in item.get("keywords") or ()),
            policy=str(policy) if policy else None,
            description=str(item.get("description") or ""),
            attributes=attributes,
        )
        if not category.code or len(category.code) > 64:
            raise ValueError("编码为空或超过 64 个字符")
        if not category.name or len(category.name) > 200:
            raise ValueError("名称为空或超过 200 个字符")
        return category


class Catalogue:
    def __init__(self, categories: Iterable[Category]) -> None:
        self._by_code = {c.code: c for c in categories}

    def __iter__(self) -> Iterator[Category]:
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

    def name_of(self, code: str) -> str | None:
        category = self._by_code.get(code)
        return category.name if category else None


def categories_from_dicts(items: Sequence[Mapping[str, Any]], policies: Iterable[str] = ()) -> list[Category]:
    """Validate a whole catalogue (all or nothing). `policies`: the known policy codes, when checked."""
    known_policies = set(policies)
    errors: list[dict[str, Any]] = []
    out: list[Category] = []
    seen: set[str] = set()
    if not isinstance(items, Sequence) or isinstance(items, str | bytes) or not items:
        raise ImportRejected("类别目录应为非空列表", errors=[])
    for i, item in enumerate(items):
        try:
            if not isinstance(item, Mapping):
                raise TypeError("每个类别应为对象")
            category = Category.from_dict(item)
            if category.code in seen:
                raise ValueError(f"编码重复：{category.code}")
            if known_policies and category.policy and category.policy not in known_policies:
                raise ValueError(f"时限规则 {category.policy} 不存在")
        except KeyError as exc:
            errors.append({"row": i, "reason": f"缺少字段 {exc.args[0]}"})
            continue
        except (TypeError, ValueError) as exc:
            errors.append({"row": i, "reason": str(exc)})
            continue
        seen.add(category.code)
        out.append(category)
    if errors:
        raise ImportRejected(f"类别目录有 {len(errors)} 处错误，未导入任何数据", errors=errors)
    return out
