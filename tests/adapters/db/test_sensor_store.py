"""The sensor repository on both engines: registry, live state, readings and roll-ups, dead letters, alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert

from chengyun.adapters.db import tables
from chengyun.domain.alarms import Alarm, AlarmPolicy, AlarmState
from chengyun.domain.errors import NotFound
from chengyun.domain.geo import Point
from chengyun.domain.rules import OfflineRule, RuleKind, ThresholdRule, Transition, TransitionKind
from chengyun.domain.sensors import Sensor, SensorKind, WatchKind
from chengyun.domain.severity import Colour
from chengyun.services.ports import (
    AlarmQuery,
    DeadLetter,
    ReadingRow,
    SensorLive,
    UnitOfWork,
    UnitOfWorkFactory,
)

T = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # on the hour
POLICY = AlarmPolicy()


def a_sensor(sensor_id: str = "S-1", street: str = "JAS", kind: SensorKind = SensorKind.TILT) -> Sensor:
    return Sensor(sensor_id, street, kind, Point(121.45, 31.22), "B-001")


def custom_sensor() -> Sensor:
    return Sensor(
        "W-9",
        "JAS",
        SensorKind.WATER_LEVEL,
        Point(121.4501, 31.2207),
        "MH-17",
        WatchKind.COMPONENT,
        {"level": "cm"},
        timedelta(seconds=30),
        (
            ThresholdRule("deep", "level", Colour.RED, high=40.0, clear_below=25.0),
            OfflineRule("silent", Colour.BLUE, factor=5.0),
        ),
    )


def point(sensor: str, quantity: str, at: datetime, value: float, street: str = "JAS") -> ReadingRow:
    return ReadingRow(sensor, street, at, quantity, value)


# --- registry ------------------------------------------------------------------------------------


def test_a_sensor_comes_back_as_it_was_stored(uow_factory: UnitOfWorkFactory) -> None:
    sensor, default = custom_sensor(), a_sensor()
    with uow_factory() as uow:
        assert uow.sensors.upsert([sensor, default]) == 2
        uow.commit()

    with uow_factory() as uow:
        assert uow.sensors.get("W-9") == sensor
        back = uow.sensors.get("S-1")
    assert back == default
    assert list(back.units) == ["tilt_x", "tilt_y"]  # the order of the quantities is kept
    assert back.rule_set == default.rule_set


def test_a_missing_sensor_is_not_found(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(NotFound):
        uow.sensors.get("nope")


def test_list_filters_counts_and_removal_change_the_stamp(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        empty_stamp = uow.sensors.registry_stamp()
        uow.sensors.upsert(
            [
                a_sensor("A-1"),
                a_sensor("A-2", kind=SensorKind.GAS),
                a_sensor("A-3"),
                a_sensor("X-1", street="NJX"),
                custom_sensor(),
            ]
        )
        uow.commit()
        added_stamp = uow.sensors.registry_stamp()
        assert added_stamp != empty_stamp

        assert [s.id for s in uow.sensors.list("JAS")] == ["A-1", "A-2", "A-3", "W-9"]
        assert [s.id for s in uow.sensors.list("JAS", SensorKind.TILT)] == ["A-1", "A-3"]
        assert [s.id for s in uow.sensors.list(None, watches="MH-17")] == ["W-9"]
        assert [s.id for s in uow.sensors.list("JAS", limit=2, offset=1)] == ["A-2", "A-3"]
        assert uow.sensors.count("JAS") == 4
        assert uow.sensors.count(None) == 5
        assert uow.sensors.count("JAS", SensorKind.GAS) == 1

        # Another street's sensor is not removed by this street.
        assert uow.sensors.remove("JAS", ["A-1", "X-1", "nope"]) == 1
        uow.commit()
        removed_stamp = uow.sensors.registry_stamp()
        assert removed_stamp not in (empty_stamp, added_stamp)
        assert uow.sensors.count(None) == 4
        assert uow.sensors.remove("JAS", ["nope"]) == 0

        changed = Sensor("A-2", "JAS", SensorKind.GAS, Point(121.0, 31.0), "B-002")
        assert uow.sensors.upsert([changed]) == 1
        uow.commit()
        assert uow.sensors.registry_stamp() != removed_stamp
        assert uow.sensors.get("A-2").watches == "B-002"


def test_registering_unchanged_sensors_again_leaves_the_stamp_where_it_was(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # Every worker reloads the whole registry when the stamp moves: a process registering the same
    # sensors at its start (bench/ingest_sink.py's second worker) must not make the others do so.
    sensors = [a_sensor("A-1"), a_sensor("A-2", kind=SensorKind.GAS), custom_sensor()]
    with uow_factory() as uow:
        uow.sensors.upsert(sensors)
        uow.commit()
        stamp = uow.sensors.registry_stamp()

    with uow_factory() as uow:
        again = [a_sensor("A-1"), a_sensor("A-2", kind=SensorKind.GAS), custom_sensor()]
        assert uow.sensors.upsert(again + again[:1]) == 3  # how many were given, changed or not
        uow.commit()
        assert uow.sensors.registry_stamp() == stamp

        moved = Sensor("A-1", "JAS", SensorKind.TILT, Point(121.4501, 31.22), "B-001")
        assert uow.sensors.upsert([*again, moved, a_sensor("A-4")]) == 4
        uow.commit()
        assert uow.sensors.registry_stamp() != stamp
        assert uow.sensors.get("A-1").location == moved.location
        assert uow.sensors.get("A-4") == a_sensor("A-4")
        assert uow.sensors.get("W-9") == custom_sensor()


# --- live state ----------------------------------------------------------------------------------


def test_live_state_is_upserted_and_read_back(uow_factory: UnitOfWorkFactory) -> None:
    first = SensorLive("S-1", "JAS", T, {"tilt_x": 0.5, "tilt_y": -0.25}, {"offline": {"n": 1}}, T)
    bare = SensorLive("S-2", "JAS")
    with uow_factory() as uow:
        uow.sensors.save_live([first, bare])
        uow.commit()

    later = SensorLive("S-1", "JAS", T + timedelta(minutes=10), {"tilt_x": 0.75}, {"rate": [1.5, 2]}, None)
    with uow_factory() as uow:
        assert uow.sensors.live(["S-1", "S-2", "S-3"]) == {"S-1": first, "S-2": bare}
        uow.sensors.save_live([later])
        uow.commit()

    with uow_factory() as uow:
        got = uow.sensors.live(["S-1"], lock=False)["S-1"]
    assert got == later
    assert got.last_ts is not None and got.last_ts.tzinfo is not None


def test_last_seen_gives_the_reading_times_in_the_order_of_the_points(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.sensors.upsert([a_sensor("B-2"), a_sensor("A-1"), a_sensor("C-3"), a_sensor("X-1", street="NJX")])
        uow.sensors.save_live(
            [SensorLive("B-2", "JAS", T), SensorLive("C-3", "JAS", T + timedelta(seconds=1))]
        )
        uow.commit()
    with uow_factory() as uow:
        points = uow.sensors.points("JAS")
        seen = uow.sensors.last_seen("JAS")
        assert uow.sensors.last_seen("nowhere") == []
    assert [p.id for p in points] == ["A-1", "B-2", "C-3"]
    ms = round(T.timestamp() * 1000)
    assert seen == [None, ms, ms + 1000]
    assert [p.last_ts for p in points] == [None, T, T + timedelta(seconds=1)]


def test_live_reads_many_sensors_at_once(uow_factory: UnitOfWorkFactory) -> None:
    states = [SensorLive(f"S-{i:05d}", "JAS", T, {"level": float(i)}) for i in range(6000)]
    with uow_factory() as uow:
        uow.sensors.save_live(states)
        uow.commit()
        got = uow.sensors.live([s.sensor_id for s in states])

    assert len(got) == 6000
    assert got["S-05999"].values == {"level": 5999.0}


def test_moved_names_only_the_sensors_whose_stored_version_is_not_the_one_seen(
    uow_factory: UnitOfWorkFactory,
) -> None:
    with uow_factory() as uow:
        uow.sensors.save_live([SensorLive("A", "JAS", version=3), SensorLive("B", "JAS", version=5)])
        uow.commit()

    with uow_factory() as uow:
        # A as seen; B saved since by someone else; C never stored (-1, as seen); D seen but gone.
        seen = {"A": 3, "B": 4, "C": -1, "D": 2}
        assert uow.sensors.moved(seen, ["E"]) == {"B": 5, "D": -1}
        assert uow.sensors.moved({}, ["A"]) == {}
        assert uow.sensors.moved({f"S-{i:05d}": -1 for i in range(6000)}) == {}


def test_claim_checks_returns_only_the_due_ones_soonest_first(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.sensors.save_live(
            [
                SensorLive("late", "JAS", check_at=T + timedelta(minutes=5)),
                SensorLive("due", "JAS", check_at=T - timedelta(minutes=1)),
                SensorLive("now", "JAS", check_at=T),
                SensorLive("never", "JAS"),
            ]
        )
        uow.commit()

    with uow_factory() as uow:
        assert [s.sensor_id for s in uow.sensors.claim_checks(T, 10)] == ["due", "now"]
        assert [s.sensor_id for s in uow.sensors.claim_checks(T, 1)] == ["due"]


# --- readings ------------------------------------------------------------------------------------


def test_a_redelivered_point_is_skipped(uow_factory: UnitOfWorkFactory) -> None:
    batch = [
        point("S-1", "tilt_x", T, 0.5),
        point("S-1", "tilt_y", T, 0.25),
        point("S-2", "level", T, 3.0, street="NJX"),
    ]
    with uow_factory() as uow:
        assert uow.sensors.add_readings(batch) == 3
        uow.commit()

    again = [*batch, point("S-1", "tilt_x", T + timedelta(seconds=1), 0.6)]
    with uow_factory() as uow:
        assert uow.sensors.add_readings(again) == 1
        # The same point twice in one batch is stored once.
        twice = point("S-1", "tilt_x", T + timedelta(seconds=2), 0.7)
        assert uow.sensors.add_readings([twice, twice]) == 1
        uow.commit()
        assert uow.sensors.reading_count() == 5
        assert uow.sensors.reading_count("NJX") == 1
        assert uow.sensors.add_readings([]) == 0


def test_a_large_batch_of_points_is_stored_whole_skipping_redelivered_and_repeated_ones(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # More points than one SQLite statement takes (100): whole statements and a rest of single rows,
    # with repeats inside one statement, across two, in the rest, and of points stored before.
    ms = round(T.timestamp() * 1000)
    rows = [(f"S-{i // 10:03d}", "level", ms + 1000 * (i % 10), float(i), "JAS") for i in range(357)]
    with uow_factory() as uow:
        assert uow.sensors.add_points(rows[:5]) == 5
        uow.commit()
    # Copies (value -1) of points: stored before (3), earlier in the batch (20), later in it (150, 356:
    # the copy comes first and stays, the point itself is skipped).
    copies = [(*rows[i][:3], -1.0, "JAS") for i in (20, 3, 150, 356)]
    mixed = [*rows[:30], *copies, *rows[30:]]
    with uow_factory() as uow:
        assert uow.sensors.add_points(mixed) == 352
        uow.commit()
        assert uow.sensors.reading_count() == 357
        got = uow.sensors.series("S-035", "level", T, T + timedelta(minutes=1), "raw")
    assert [p.maximum for p in got] == [*(float(i) for i in range(350, 356)), -1.0]


def test_points_in_the_drivers_shape_are_stored_as_their_readings_would_be(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ms = round(T.timestamp() * 1000)
    with uow_factory() as uow:
        assert uow.sensors.add_readings([point("S-1", "tilt_x", T, 0.5)]) == 1
        # the same point again (a redelivery, now through the batch path) is skipped, the new ones kept
        rows = [("S-1", "tilt_x", ms, 0.5, "JAS"), ("S-1", "tilt_x", ms + 1000, 0.75, "JAS")]
        assert uow.sensors.add_points(rows) == 1
        assert uow.sensors.add_points([]) == 0
        uow.commit()
        got = uow.sensors.series("S-1", "tilt_x", T, T + timedelta(minutes=1), "raw")
    assert [(p.ts, p.mean) for p in got] == [(T, 0.5), (T + timedelta(seconds=1), 0.75)]


def test_points_out_of_key_order_are_all_stored_and_the_first_of_one_key_wins(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # A gateway batch as it arrives: sensor after sensor, quantities interleaved, times not sorted.
    ms = round(T.timestamp() * 1000)
    rows = [
        ("S-9", "tilt_y", ms + 2000, 1.0, "JAS"),
        ("S-1", "tilt_x", ms + 1000, 2.0, "JAS"),
        ("S-9", "tilt_x", ms, 3.0, "JAS"),
        ("S-1", "tilt_x", ms, 4.0, "JAS"),
        ("S-1", "tilt_x", ms + 1000, 5.0, "JAS"),  # the key of the second row again: not stored
        ("S-5", "level", ms, 6.0, "NJX"),
    ]
    with uow_factory() as uow:
        assert uow.sensors.add_points(rows) == 5
        uow.commit()
        got = uow.sensors.series("S-1", "tilt_x", T, T + timedelta(minutes=1), "raw")
        assert uow.sensors.reading_count() == 5
        assert uow.sensors.reading_count("NJX") == 1
    assert [(p.ts - T, p.mean) for p in got] == [(timedelta(0), 4.0), (timedelta(seconds=1), 2.0)]


def test_raw_series_gives_each_point_as_a_bucket_of_one(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.sensors.add_readings(
            [point("S-1", "tilt_x", T + timedelta(seconds=s), float(s)) for s in (30, 0, 10, 90)]
            + [point("S-1", "tilt_y", T, 9.0)]
        )
        series = uow.sensors.series("S-1", "tilt_x", T, T + timedelta(seconds=90), "raw")

    assert [(p.ts, p.count, p.minimum, p.maximum, p.mean) for p in series] == [
        (T + timedelta(seconds=s), 1, float(s), float(s), float(s)) for s in (0, 10, 30)
    ]
    assert series[0].ts.tzinfo is not None


def test_roll_up_makes_minute_and_hour_buckets_idempotently(uow_factory: UnitOfWorkFactory) -> None:
    values = {
        T + timedelta(seconds=5): 1.0,
        T + timedelta(seconds=35): 3.0,
        T + timedelta(minutes=1, seconds=10): 10.0,
        T + timedelta(minutes=59, seconds=59): 2.0,
        T + timedelta(hours=1, seconds=1): 7.0,
    }
    with uow_factory() as uow:
        uow.sensors.add_readings([point("S-1", "tilt_x", at, v) for at, v in values.items()])
        uow.sensors.add_readings([point("S-2", "tilt_x", T, 100.0)])
        assert uow.sensors.roll_up(T, T + timedelta(hours=2)) == 3  # the hour buckets: 2 of S-1, 1 of S-2
        assert uow.sensors.roll_up(T, T + timedelta(hours=2)) == 3
        minutes = uow.sensors.series("S-1", "tilt_x", T, T + timedelta(hours=2), "1m")
        hours = uow.sensors.series("S-1", "tilt_x", T, T + timedelta(hours=2), "1h")

    figures = [(p.ts - T, p.count, p.minimum, p.maximum, p.mean) for p in minutes]
    assert figures == [
        (timedelta(0), 2, 1.0, 3.0, 2.0),
        (timedelta(minutes=1), 1, 10.0, 10.0, 10.0),
        (timedelta(minutes=59), 1, 2.0, 2.0, 2.0),
        (timedelta(hours=1), 1, 7.0, 7.0, 7.0),
    ]
    assert [(p.ts - T, p.count, p.minimum, p.maximum, p.mean) for p in hours] == [
        (timedelta(0), 4, 1.0, 10.0, 4.0),
        (timedelta(hours=1), 1, 7.0, 7.0, 7.0),
    ]


def test_roll_up_of_many_series_matches_the_points_it_covers(uow_factory: UnitOfWorkFactory) -> None:
    # Several sensors and quantities, points inside and outside the rolled-up range: each minute bucket
    # is what its points give (minutes come from the raw points, rolled up or not), each hour touching
    # the range is what all its points give, and no hour outside the range is rolled up.
    points = []
    for k in range(240):
        sensor, quantity = f"S-{k % 7}", ("tilt_x", "tilt_y", "level")[k % 3]
        at = T + timedelta(seconds=37 * k)  # 0 .. ~2.5 hours
        points.append(point(sensor, quantity, at, float((k * 13) % 29) - 7.5))
    lo, hi = T + timedelta(minutes=20), T + timedelta(minutes=100)
    with uow_factory() as uow:
        uow.sensors.add_readings(points)
        uow.sensors.roll_up(lo, hi)
        got_minutes = {
            (s, q): [
                (p.ts, p.count, p.minimum, p.maximum, round(p.mean, 9))
                for p in uow.sensors.series(s, q, T, T + timedelta(hours=3), "1m")
            ]
            for s in {p.sensor_id for p in points}
            for q in ("tilt_x", "tilt_y", "level")
        }
        got_hours = {
            key: [
                (p.ts, p.count, p.minimum, p.maximum, round(p.mean, 9))
                for p in uow.sensors.series(*key, T, T + timedelta(hours=3), "1h")
            ]
            for key in got_minutes
        }

    def expected(step: timedelta, first: datetime, last: datetime) -> dict[tuple[str, str], list]:
        out: dict[tuple[str, str], dict[datetime, list[float]]] = {}
        for p in points:
            if first <= p.ts < last:
                bucket = T + (p.ts - T) // step * step
                out.setdefault((p.sensor_id, p.quantity), {}).setdefault(bucket, []).append(p.value)
        return {
            key: [(b, len(v), min(v), max(v), round(sum(v) / len(v), 9)) for b, v in sorted(buckets.items())]
            for key, buckets in out.items()
        }

    minutes = expected(timedelta(minutes=1), T, T + timedelta(hours=3))
    hours = expected(timedelta(hours=1), T, T + timedelta(hours=2))  # the hours [lo, hi) touches
    assert any(p.ts >= T + timedelta(hours=2) for p in points)  # an hour left out
    for key, got in got_minutes.items():
        assert got == minutes.get(key, []), key
    for key, got in got_hours.items():
        assert got == hours.get(key, []), key


def test_a_late_point_is_counted_when_its_minute_is_rolled_up_again(
    uow_factory: UnitOfWorkFactory,
) -> None:
    with uow_factory() as uow:
        uow.sensors.add_readings([point("S-1", "tilt_x", T + timedelta(seconds=10), 4.0)])
        uow.sensors.roll_up(T, T + timedelta(minutes=1))
        uow.sensors.add_readings([point("S-1", "tilt_x", T + timedelta(seconds=50), 8.0)])
        # Any range touching the minute recomputes it, whole.
        uow.sensors.roll_up(T + timedelta(seconds=40), T + timedelta(seconds=41))
        (minute,) = uow.sensors.series("S-1", "tilt_x", T, T + timedelta(minutes=1), "1m")
        (hour,) = uow.sensors.series("S-1", "tilt_x", T, T + timedelta(hours=1), "1h")

    assert (minute.count, minute.minimum, minute.maximum, minute.mean) == (2, 4.0, 8.0, 6.0)
    assert (hour.count, hour.minimum, hour.maximum, hour.mean) == (2, 4.0, 8.0, 6.0)


def test_purge_deletes_what_is_older_than_each_retention(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.sensors.add_readings([point("S-1", "tilt_x", T + timedelta(hours=h), float(h)) for h in range(4)])
        uow.sensors.roll_up(T, T + timedelta(hours=4))
        deleted = uow.sensors.purge(
            raw_before=T + timedelta(hours=3),  # 3 raw points
            minutes_before=T + timedelta(hours=2),  # 2 minute buckets
            hours_before=T + timedelta(hours=1),  # 1 hour bucket
        )
        assert deleted == 6
        assert uow.sensors.reading_count() == 1
        everything = (T, T + timedelta(hours=5))
        assert len(uow.sensors.series("S-1", "tilt_x", *everything, "1m")) == 2
        assert len(uow.sensors.series("S-1", "tilt_x", *everything, "1h")) == 3
        # Rolling up a range whose raw points are gone keeps its buckets.
        uow.sensors.roll_up(T, T + timedelta(hours=4))
        assert len(uow.sensors.series("S-1", "tilt_x", *everything, "1m")) == 2


def buckets_of(
    points: list[ReadingRow], step: timedelta, since: datetime, until: datetime
) -> dict[tuple[str, str], list[tuple[datetime, int, float, float, float]]]:
    """Each series' buckets starting in [since, until) and the one `since` falls in, each made of all its
    points: what a roll-up of every point into minute and hour buckets gives."""
    first = T + (since - T) // step * step
    grouped: dict[tuple[str, str], dict[datetime, list[float]]] = {}
    for p in points:
        bucket = T + (p.ts - T) // step * step
        if first <= bucket < until:
            grouped.setdefault((p.sensor_id, p.quantity), {}).setdefault(bucket, []).append(p.value)
    return {
        key: [(b, len(v), min(v), max(v), sum(v) / len(v)) for b, v in sorted(found.items())]
        for key, found in grouped.items()
    }


def test_minute_and_hour_series_are_the_same_before_and_after_the_raw_points_are_purged(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # Three hours of three series: once a minute, three times a minute, every seven minutes (values in
    # quarters, so every sum is exact). Retention cuts in the middle of a minute that has points on both
    # sides of the cut, and in the middle of an hour.
    points = [point("S-1", "tilt_x", T + timedelta(minutes=m, seconds=17), m / 4) for m in range(180)]
    points += [point("S-1", "tilt_y", T + timedelta(seconds=20 * k), (k % 11) - 5.0) for k in range(540)]
    points += [point("S-2", "tilt_x", T + timedelta(minutes=7 * k, seconds=k), k / 2) for k in range(26)]
    keys = [("S-1", "tilt_x"), ("S-1", "tilt_y"), ("S-2", "tilt_x")]
    cut = T + timedelta(hours=1, minutes=30, seconds=25)
    ranges = [
        (T - timedelta(hours=1), T + timedelta(hours=4)),  # everything
        (T + timedelta(hours=1, minutes=29, seconds=50), T + timedelta(hours=1, minutes=31, seconds=10)),
        (T + timedelta(minutes=75, seconds=30), T + timedelta(minutes=110)),
        (T + timedelta(hours=2, minutes=10), T + timedelta(hours=2, minutes=11)),
    ]

    def expected(with_points: list[ReadingRow]) -> dict[tuple[str, str, str, int], list[tuple]]:
        out = {}
        for n, (since, until) in enumerate(ranges):
            for resolution, step in (("1m", timedelta(minutes=1)), ("1h", timedelta(hours=1))):
                found = buckets_of(with_points, step, since, until)
                for sensor, quantity in keys:
                    out[sensor, quantity, resolution, n] = found.get((sensor, quantity), [])
        return out

    def series(uow: UnitOfWork) -> dict[tuple[str, str, str, int], list[tuple]]:
        return {
            (sensor, quantity, resolution, n): [
                (p.ts, p.count, p.minimum, p.maximum, p.mean)
                for p in uow.sensors.series(sensor, quantity, since, until, resolution)
            ]
            for n, (since, until) in enumerate(ranges)
            for resolution in ("1m", "1h")
            for sensor, quantity in keys
        }

    want = expected(points)
    with uow_factory() as uow:
        uow.sensors.add_readings(points)
        uow.sensors.roll_up(T, T + timedelta(hours=3))
        assert series(uow) == want
        far_back = T - timedelta(days=1)  # no bucket is old enough to go
        uow.sensors.purge(raw_before=cut, minutes_before=far_back, hours_before=far_back)
        assert series(uow) == want
        # Whole minutes go: the points of the cut's minute before the cut stay with those after it.
        kept = [p for p in points if p.ts >= cut.replace(second=0)]
        assert uow.sensors.reading_count() == len(kept) < len(points)
        # A roll-up again over the purged hours keeps them as they were.
        uow.sensors.roll_up(T, T + timedelta(hours=3))
        assert series(uow) == want
        # A late point in the hour that is half purged, and a redelivered one: the hour counts the late
        # point once, with the minutes of its first half that retention stored.
        late = point("S-1", "tilt_x", T + timedelta(minutes=105, seconds=50), 9.75)
        uow.sensors.add_readings([late, kept[-1]])
        uow.sensors.roll_up(late.ts, late.ts)
        assert series(uow) == expected([*points, late])
        assert uow.sensors.roll_up(late.ts, late.ts) == 3  # hour 1 of each series: idempotent
        assert series(uow) == expected([*points, late])


def test_minute_buckets_stored_for_points_still_kept_count_once(
    engine: Engine, uow_factory: UnitOfWorkFactory
) -> None:
    # A database rolled up the earlier way holds a stored minute bucket for every minute of its raw
    # points too, some of them stale (a late point came after its minute was rolled up): where the raw
    # points are there, the minute and hour buckets are theirs, the stored copies counted in neither.
    points = [
        point("S-1", "tilt_x", T + timedelta(minutes=m, seconds=s), m + s / 8)
        for m in range(90)
        for s in (5, 40)
    ]
    stale = buckets_of(points[:-3], timedelta(minutes=1), T, T + timedelta(hours=2))[("S-1", "tilt_x")]
    with engine.begin() as conn:
        conn.execute(
            insert(tables.readings_1m),
            [
                {
                    "sensor_id": "S-1",
                    "quantity": "tilt_x",
                    "bucket": round(b.timestamp() * 1000),
                    "street": "JAS",
                    "n": n,
                    "minimum": lo,
                    "maximum": hi,
                    "total": mean * n,
                }
                for b, n, lo, hi, mean in stale
            ],
        )
    everything = (T, T + timedelta(hours=2))
    with uow_factory() as uow:
        uow.sensors.add_readings(points)
        assert uow.sensors.roll_up(*everything) == 2
        minutes = [
            (p.ts, p.count, p.minimum, p.maximum, p.mean)
            for p in uow.sensors.series("S-1", "tilt_x", *everything, "1m")
        ]
        hours = [
            (p.ts, p.count, p.minimum, p.maximum, p.mean)
            for p in uow.sensors.series("S-1", "tilt_x", *everything, "1h")
        ]

    assert minutes == buckets_of(points, timedelta(minutes=1), *everything)[("S-1", "tilt_x")]
    assert hours == buckets_of(points, timedelta(hours=1), *everything)[("S-1", "tilt_x")]


# --- dead letters --------------------------------------------------------------------------------


def letter(code: str, at: datetime, street: str | None = "JAS", **kw: str) -> DeadLetter:
    return DeadLetter(code, f"拒收：{code}", at, "mqtt", street, kw.get("sensor"), "{...}", kw.get("topic"))


def test_dead_letters_newest_first_with_total_and_counts(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.sensors.add_dead_letters(
            [
                letter("not_numeric", T, sensor="S-1", topic="chengyun/JAS/sensors/S-1"),
                letter("out_of_range", T + timedelta(minutes=1)),
                letter("not_numeric", T + timedelta(minutes=2)),
                letter("bad_json", T + timedelta(minutes=3), street=None),
                letter("not_numeric", T + timedelta(minutes=4), street="NJX"),
            ]
        )
        uow.commit()

        page, total = uow.sensors.dead_letters("JAS", None, None, limit=2)
        assert total == 3
        assert [d.received_at for d in page] == [T + timedelta(minutes=2), T + timedelta(minutes=1)]
        rest, _ = uow.sensors.dead_letters("JAS", None, None, limit=2, offset=2)
        assert rest[0].sensor_id == "S-1" and rest[0].topic == "chengyun/JAS/sensors/S-1"
        assert rest[0].reason == "拒收：not_numeric" and rest[0].id is not None

        everything, total = uow.sensors.dead_letters(None, None, None, limit=10)
        assert total == 5 and everything[0].street == "NJX" and everything[1].street is None
        _, numeric = uow.sensors.dead_letters(None, "not_numeric", T + timedelta(minutes=1), limit=10)
        assert numeric == 2

        assert uow.sensors.dead_letter_counts("JAS", None) == {"not_numeric": 2, "out_of_range": 1}
        assert uow.sensors.dead_letter_counts(None, T + timedelta(minutes=3)) == {
            "bad_json": 1,
            "not_numeric": 1,
        }


# --- alarms --------------------------------------------------------------------------------------


def raised(sensor: Sensor, rule: str, at: datetime, colour: Colour = Colour.ORANGE) -> Alarm:
    transition = Transition(
        sensor.id, rule, RuleKind.THRESHOLD, TransitionKind.RAISE, at, colour, "倾角 2.5° 超过 2°", 2.5
    )
    alarm = Alarm.open(transition, sensor)
    alarm.raised(POLICY)
    return alarm


def clear(alarm: Alarm, at: datetime) -> Transition:
    return Transition(
        alarm.sensor_id, alarm.rule_id, alarm.rule_kind, TransitionKind.CLEAR, at, alarm.colour, "恢复"
    )


def test_alarms_are_inserted_updated_and_keep_their_history(uow_factory: UnitOfWorkFactory) -> None:
    sensor = a_sensor()
    alarm = raised(sensor, "tilt-x-high", T)
    with uow_factory() as uow:
        uow.sensors.save_alarms([alarm])
        uow.commit()
    assert alarm.id is not None and alarm.events == []

    with uow_factory() as uow:
        stored = uow.sensors.get_alarm(alarm.id, for_update=True)
        assert stored == alarm
        assert stored.raised_at == T and stored.value == 2.5 and stored.watches == "B-001"
        stored.acknowledge("张三", T + timedelta(minutes=1), POLICY)
        stored.on_clear(clear(stored, T + timedelta(minutes=2)), POLICY)
        uow.sensors.save_alarms([stored])
        uow.commit()

    with uow_factory() as uow:
        again = uow.sensors.get_alarm(alarm.id)
        history = uow.sensors.alarm_history(alarm.id)
    assert again.state is AlarmState.ACKNOWLEDGED
    assert again.acknowledged_by == "张三"
    assert again.clear_pending_since == T + timedelta(minutes=2) and again.clear_reason == "恢复"
    assert [(h.kind, h.at, h.state) for h in history] == [
        ("raised", T, AlarmState.RAISED),
        ("acknowledged", T + timedelta(minutes=1), AlarmState.ACKNOWLEDGED),
    ]
    assert history[1].message.startswith("张三 确认告警")
    assert history[0].colour is Colour.ORANGE


def test_a_missing_alarm_is_not_found(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(NotFound):
        uow.sensors.get_alarm(404)


def test_alarms_for_gives_the_latest_alarm_of_each_key(uow_factory: UnitOfWorkFactory) -> None:
    one, two = a_sensor("S-1"), a_sensor("S-2")
    old = raised(one, "tilt-x-high", T)
    old.on_clear(clear(old, T + timedelta(minutes=1)), POLICY)
    old.tick(T + timedelta(hours=1), POLICY)
    new = raised(one, "tilt-x-high", T + timedelta(hours=2))
    other_rule = raised(one, "tilt-y-high", T)
    other_sensor = raised(two, "tilt-x-high", T)
    with uow_factory() as uow:
        uow.sensors.save_alarms([old])
        uow.sensors.save_alarms([new, other_rule, other_sensor])
        uow.commit()

    with uow_factory() as uow:
        found = uow.sensors.alarms_for([("S-1", "tilt-x-high"), ("S-2", "tilt-x-high"), ("S-9", "x")])
        assert {a.id for a in found} == {new.id, other_sensor.id}
        assert all(a.id is not None for a in found) and len(found) == 2
        assert uow.sensors.alarms_for([]) == []


def test_pending_clears_and_search_filters(uow_factory: UnitOfWorkFactory) -> None:
    s1, s2 = a_sensor("S-1"), a_sensor("S-2", street="NJX")
    pending = raised(s1, "tilt-x-high", T)
    pending.on_clear(clear(pending, T + timedelta(minutes=1)), POLICY)
    quiet = raised(s1, "tilt-y-high", T + timedelta(minutes=5), Colour.RED)
    done = raised(s2, "tilt-x-high", T + timedelta(minutes=10))
    done.on_clear(clear(done, T + timedelta(minutes=11)), POLICY)
    done.tick(T + timedelta(hours=1), POLICY)
    with uow_factory() as uow:
        uow.sensors.save_alarms([pending, quiet, done])
        uow.commit()

        assert [a.id for a in uow.sensors.pending_clears(10)] == [pending.id]

        found, total = uow.sensors.search_alarms(AlarmQuery())
        assert total == 3 and [a.id for a in found] == [done.id, quiet.id, pending.id]
        found, total = uow.sensors.search_alarms(AlarmQuery(street="JAS", limit=1))
        assert total == 2 and [a.id for a in found] == [quiet.id]
        found, _ = uow.sensors.search_alarms(AlarmQuery(states=[AlarmState.CLEARED_UNACKNOWLEDGED]))
        assert [a.id for a in found] == [done.id]
        found, _ = uow.sensors.search_alarms(AlarmQuery(colour=Colour.RED))
        assert [a.id for a in found] == [quiet.id]
        found, _ = uow.sensors.search_alarms(AlarmQuery(streets=frozenset({"NJX"})))
        assert [a.id for a in found] == [done.id]
        found, _ = uow.sensors.search_alarms(AlarmQuery(sensor_id="S-1", since=T + timedelta(minutes=1)))
        assert [a.id for a in found] == [quiet.id]

        assert uow.sensors.alarm_counts("JAS") == {"raised": 2}
        assert uow.sensors.alarm_counts(None) == {"raised": 2, "cleared_unacknowledged": 1}


def test_an_overlong_claimed_street_or_sensor_is_cut_not_refused(uow_factory: UnitOfWorkFactory) -> None:
    claimed = "x" * 300
    with uow_factory() as uow:
        uow.sensors.add_dead_letters(
            [DeadLetter("bad_topic", "主题格式不对", T, "mqtt", claimed, claimed, "", "t/" + claimed * 2)]
        )
        (stored,), total = uow.sensors.dead_letters(None, None, None, limit=10)

    assert total == 1
    assert stored.street == "x" * 64 and stored.sensor_id == "x" * 200
    assert stored.topic is not None and len(stored.topic) == 500
