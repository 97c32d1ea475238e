"""How the simulated people of the street behave: plausible, documented figures, not fitted to any outcome.

Every figure is a range or a median a street office would recognise; none was tuned to make the 51530
outcome look good (the simulator's report shows what they lead to, with our dispatcher and without it):

* Field staff (area managers, chief responders) walk 62–80 m a minute along the street grid (each person
  their own pace: crossings, lights and crowds make it slower than an open pavement), read a new order
  0.3–2 minutes after their phone buzzes (0.5–3 more if they are busy), need 0.5–2 minutes to set off,
  and work one site at a time, taking their orders earliest arrival deadline first, those they can still
  reach in time before those already late.
* On site they handle the problem in a time that depends on its kind (a median, spread ×/÷ 1.6), or, for
  repairs somebody else must make (street lights, leaks, broken paving), settle a plan with a date. About
  one order in fifty is returned (退单) as not theirs after a look on site; when handling runs past the
  deadline, most ask for an extension first, and the duty officer grants most of them.
* The 12345 desk makes the first contact (先联) with a complainant: one call at a time per handler on
  shift, 0.2–0.6 minutes until the caller answers (the first contact, 先联, is made then) and 1.5–4
  minutes a call, picked up 0.3–1.5 minutes after the order arrives; it calls back
  (回访) 5–20 minutes after the problem is handled, and closes the case 1–8 minutes after that. Its
  handlers take the waiting calls earliest deadline first, those still in time before those already
  late; a red order's first contact is kept short (0.8–1.5 minutes: confirm what and where, say that
  someone is on the way), the details wait for the callback. An area manager standing in on the hotline
  takes no calls while out at a site.
* Nobody starts work off shift: an order given to someone off shift waits for their next shift unless the
  duty officer, told by the escalation ladder, reassigns it. Orders already in hand at the end of a shift
  are seen through, up to an hour past it (交接班 would hand them over; the order's state often no
  longer allows a new dispatch once the desk has made the first contact).
* The staff app reports its holder's position every 10 minutes while on shift.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from chengyun.domain.orders import Satisfaction

# Minutes on site to handle (or to settle a plan), median by category; and the share that ends in a plan.
HANDLE_MEDIAN: Mapping[str, float] = {
    "050104": 8.0,  # e-bikes on the pavement: move them, talk to the riders
    "200101": 12.0,  # loose paving: cordon off, call the owner
    "900101": 12.0,  # noise: talk to the neighbour or the bar
    "010101": 10.0,  # litter: call the cleaning company
    "100118": 8.0,  # street light: report to the lighting company
    "900102": 15.0,  # leaks: look at both flats
    "100101": 10.0,  # manhole cover
    "050102": 10.0,  # goods outside a shop
    "900106": 12.0,  # flying-lead charging
    "400101": 15.0,  # trees
    "020101": 10.0,  # bills and posters
    "040104": 20.0,  # waterlogging
    "040105": 20.0,  # structural safety
    "040103": 20.0,  # gas
    "040107": 15.0,  # fire
    "050105": 15.0,  # crowds
}
PLAN_SHARE: Mapping[str, float] = {
    "200101": 0.35,
    "100118": 0.6,
    "900102": 0.6,
    "100101": 0.3,
    "400101": 0.3,
    "040104": 0.2,
    "040105": 0.5,
}
DEFAULT_HANDLE = 12.0
DEFAULT_PLAN = 0.1


def _between(rng: random.Random, span: tuple[float, float]) -> float:
    return rng.uniform(*span)


@dataclass(frozen=True)
class Behaviour:
    """The figures of the module docstring, in minutes unless named otherwise."""

    pace_m_per_min: tuple[float, float] = (62.0, 80.0)
    notice: tuple[float, float] = (0.3, 2.0)
    busy_notice_extra: tuple[float, float] = (0.5, 3.0)
    set_off: tuple[float, float] = (0.5, 2.0)
    handle_spread: float = 1.6  # lognormal: 68 % of times within median ×/÷ this
    plan_settle: tuple[float, float] = (5.0, 15.0)
    return_share: float = 0.02
    return_after: tuple[float, float] = (3.0, 8.0)
    extension_share: float = 0.6
    extension_approved: float = 0.85
    decision: tuple[float, float] = (2.0, 8.0)
    pick_up: tuple[float, float] = (0.3, 1.5)
    ring: tuple[float, float] = (0.2, 0.6)  # dialling until the caller answers
    call: tuple[float, float] = (1.5, 4.0)
    red_call: tuple[float, float] = (0.8, 1.5)  # a red order's first contact: confirm, say who is coming
    callback_after: tuple[float, float] = (5.0, 20.0)
    self_close_after: tuple[float, float] = (1.0, 4.0)
    case_close_after: tuple[float, float] = (1.0, 8.0)
    place_after: tuple[float, float] = (2.0, 6.0)  # the desk places an order intake could not locate
    redispatch_after: tuple[float, float] = (3.0, 10.0)  # the desk re-dispatches a returned order
    reassign_after: tuple[float, float] = (2.0, 6.0)  # the duty officer acts on an escalation
    checkin_every: float = 10.0
    overtime: float = 60.0  # minutes past a shift's end spent finishing the orders in hand
    satisfaction: tuple[float, float, float] = (0.88, 0.09, 0.03)  # satisfied, basically, not
    handle_median: Mapping[str, float] = field(default_factory=lambda: dict(HANDLE_MEDIAN))
    plan_share: Mapping[str, float] = field(default_factory=lambda: dict(PLAN_SHARE))

    def pace(self, rng: random.Random) -> float:
        return _between(rng, self.pace_m_per_min)

    def notice_delay(self, rng: random.Random, busy: bool) -> float:
        return _between(rng, self.notice) + (_between(rng, self.busy_notice_extra) if busy else 0.0)

    def handling(self, rng: random.Random, category: str) -> tuple[str, float]:
        """("plan" | "handle" | "return", minutes on site before it)."""
        if rng.random() < self.return_share:
            return "return", _between(rng, self.return_after)
        if rng.random() < self.plan_share.get(category, DEFAULT_PLAN):
            return "plan", _between(rng, self.plan_settle)
        median = self.handle_median.get(category, DEFAULT_HANDLE)
        return "handle", median * math.exp(rng.gauss(0.0, math.log(self.handle_spread)))

    def satisfied(self, rng: random.Random) -> Satisfaction:
        x = rng.random()
        yes, basically, _ = self.satisfaction
        if x < yes:
            return Satisfaction.SATISFIED
        return Satisfaction.BASICALLY if x < yes + basically else Satisfaction.UNSATISFIED
