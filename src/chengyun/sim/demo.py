"""Loading the built-in demo street (静安寺街道) into a center, through the same importers operators use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from chengyun.bootstrap import Center
from chengyun.domain.access import Actor, Role
from chengyun.domain.grading import DEFAULT_GRADING_DATA
from chengyun.domain.sensors import Sensor
from chengyun.services.directory import (
    DEPARTMENT_COLUMNS,
    PAIR_COLUMNS,
    SHIFT_COLUMNS,
    STAFF_COLUMNS,
    write_csv,
)
from chengyun.sim import jingansi
from chengyun.sim.community import load_demo_community
from chengyun.sim.sensors import demo_sensor_csv

STREET = jingansi.STREET_CODE
CLI_ADMIN = Actor(Role.ADMIN, frozenset(), None, "命令行管理员", "cli")


def load_demo_street(
    center: Center,
    roster_start: date,
    roster_days: int,
    sensors: Sequence[Sensor] | None = None,
    community: bool = True,
) -> dict[str, int]:
    """Import places, departments, staff, A/B pairs, `roster_days` of shifts, sensors (all the demo
    street's, or those given: the simulator may run with a share of them) and, unless told not to, the
    community programs; returns counts."""
    directory = center.directory
    registry = demo_sensor_csv(sensors=sensors)
    counts = {
        "places": directory.import_places(CLI_ADMIN, STREET, jingansi.places()),
        "departments": directory.import_departments(
            CLI_ADMIN, STREET, write_csv(jingansi.departments(), DEPARTMENT_COLUMNS)
        ),
        "staff": directory.import_staff(CLI_ADMIN, STREET, write_csv(jingansi.staff(), STAFF_COLUMNS)),
        "ab_pairs": directory.import_pairs(CLI_ADMIN, STREET, write_csv(jingansi.ab_pairs(), PAIR_COLUMNS)),
        "shifts": directory.import_roster(
            CLI_ADMIN, STREET, write_csv(jingansi.roster(roster_start, roster_days), SHIFT_COLUMNS)
        ),
        "sensors": center.sensors.import_csv(CLI_ADMIN, STREET, registry) if sensors != [] else 0,
        "grading_rules": len(center.grading.set_rules(CLI_ADMIN, STREET, DEMO_GRADING).rules),
    }
    if not community:
        return counts
    programs = load_demo_community(center.community, center.clock.now())
    return counts | {f"community_{kind}": n for kind, n in programs.items()}


# The built-in grading rules with the demo street's main roads (the roads bounding its blocks).
DEMO_GRADING = DEFAULT_GRADING_DATA | {
    "main_roads": [
        "延安中路",
        "南京西路",
        "愚园路",
        "新闸路",
        "江苏路",
        "乌鲁木齐北路",
        "常德路",
        "胶州路",
        "陕西北路",
    ]
}
