"""The five colours (五色管理): the severity grade of every event and case."""

from __future__ import annotations

from enum import StrEnum


class Colour(StrEnum):
    """Red is the most severe; the order follows the national red/orange/yellow/blue warning scale,
    with green for routine matters."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"
    GREEN = "green"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def rank(self) -> int:
        """1 for red (Ⅰ级) … 5 for green: lower is more severe."""
        return _ORDER.index(self) + 1

    def raised(self, steps: int) -> Colour:
        """This colour moved `steps` levels towards red (negative: towards green), within the scale."""
        return _ORDER[min(len(_ORDER), max(1, self.rank - steps)) - 1]


def most_severe(first: Colour, *others: Colour | None) -> Colour:
    """The most severe of the given colours (None is ignored)."""
    return min((c for c in (first, *others) if c is not None), key=lambda c: c.rank)


_ORDER = [Colour.RED, Colour.ORANGE, Colour.YELLOW, Colour.BLUE, Colour.GREEN]
_LABELS = {
    Colour.RED: "红色（Ⅰ级）",
    Colour.ORANGE: "橙色（Ⅱ级）",
    Colour.YELLOW: "黄色（Ⅲ级）",
    Colour.BLUE: "蓝色（Ⅳ级）",
    Colour.GREEN: "绿色（常规）",
}
