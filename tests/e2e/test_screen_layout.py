"""The wall screen's layout on a busy wall: at 1920×1080 and 3840×2160 every panel keeps to its own box
(none overlaps another, none leaves the screen, nothing inside one spills out of it), with a full urgent
list and a feed longer than its panel."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.test_screen import create, open_screen

ADDRESSES = ("愚园路608弄6号", "南京西路1618号")

# Every panel's box, and every visible element inside it that lies outside it. An element that clips
# its content (overflow other than visible: the feed, the map) is checked itself, not what it clips.
MEASURE = """
() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return { x: r.left, y: r.top, r: r.right, b: r.bottom }; };
  const out = [];
  for (const panel of document.querySelectorAll("main .panel")) {
    const p = box(panel);
    const spills = [];
    const walk = (e) => {
      for (const child of e.children) {
        const s = getComputedStyle(child);
        if (child.hidden || s.display === "none" || s.visibility === "hidden") continue;
        const c = box(child);
        if (c.r - c.x > 0 && c.b - c.y > 0 && (c.x < p.x - 1 || c.y < p.y - 1 || c.r > p.r + 1 || c.b > p.b + 1)) {
          spills.push((child.id || child.className || child.tagName) + " " + JSON.stringify(c));
        }
        if (s.overflow === "visible") walk(child);
      }
    };
    walk(panel);
    out.push({ id: panel.id, ...p, spills });
  }
  return { width: innerWidth, height: innerHeight, panels: out };
}
"""


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return min(a["r"], b["r"]) - max(a["x"], b["x"]) > 1 and min(a["b"], b["b"]) - max(a["y"], b["y"]) > 1


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)], ids=["1920x1080", "3840x2160"])
def test_every_panel_stays_in_its_box_on_a_busy_wall(
    page: Page, live_server: LiveServer, size: tuple[int, int]
) -> None:
    for i in range(12):  # more than the urgent list shows
        create(live_server, ADDRESSES[i % 2], colour="red" if i % 3 == 0 else None)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    errors: list[str] = []
    open_screen(page, live_server, errors)
    for i in range(8):  # and more events than the feed has room for
        create(live_server, ADDRESSES[i % 2])
    expect(page.locator("#feed li")).to_have_count(40, timeout=10_000)
    expect(page.locator("#orders tr")).to_have_count(9, timeout=10_000)
    page.wait_for_timeout(600)  # the last re-read of the figures

    found = page.evaluate(MEASURE)
    assert (found["width"], found["height"]) == size
    panels = found["panels"]
    assert {p["id"] for p in panels} >= {"p-counters", "p-map", "p-feed", "p-urgent", "p-sensors", "p-areas"}
    for p in panels:
        assert p["x"] >= 0 and p["y"] >= 0 and p["r"] <= size[0] and p["b"] <= size[1], p
        assert p["spills"] == [], p["id"]
    for i, a in enumerate(panels):
        for b in panels[i + 1 :]:
            assert not overlaps(a, b), (a["id"], b["id"])
    # The feed takes the space left below the urgent list, and shows as many lines as fit in it.
    feed = next(p for p in panels if p["id"] == "p-feed")
    urgent = next(p for p in panels if p["id"] == "p-urgent")
    assert feed["y"] > urgent["b"] and feed["b"] > size[1] * 0.95
    assert errors == []
